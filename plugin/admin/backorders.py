"""The Backorders page and its API: the filtered, sorted, paged list and the four line actions.

Page routes render on the server (GET /admin/backorders with the filters in the query string);
each line's actions are forms that post to page routes (`/admin/backorders/<id>/<action>`),
so they work without JavaScript, and that admin.js sends to the JSON API instead when it runs
(`data-api`), showing the result in place. Both paths call plugin/admin/actions.py.
"""
from __future__ import annotations

from datetime import date

from flask import current_app, request
from pydantic import ValidationError

from plugin.admin import actions
from plugin.admin.api import ApiError, api_route, query_values
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.i18n import format_day, translate
from plugin.admin.layout import render_page
from plugin.admin.queries import backorder_row, list_backorders, supplier_choices
from plugin.admin.schemas import SORT_KEYS, ActionResult, BackorderPage, BackorderQuery, BackorderRow, \
    EtaOverrideIn

ACTIONS = ("eta", "resend", "refund", "shipped")
FILTER_PARAMS = ("status", "product", "supplier_id", "promised_from", "promised_to", "delayed", "sort", "page",
                 "per_page")
_ERRORS = {404: "No such backorder line in this shop", 409: "The line does not allow this now"}


def _runtime():
    return current_app.extensions["backorder_desk"]


# -- the page ------------------------------------------------------------------------------------
def _page_query() -> tuple[BackorderQuery, str | None]:
    try:
        return BackorderQuery.model_validate(query_values(BackorderQuery)), None
    except ValidationError as exc:
        return BackorderQuery(), "; ".join(error["msg"] for error in exc.errors()[:3])


def _render_list(ctx: AdminContext, *, result: dict | None = None, status: int = 200):
    query, problem = _page_query()
    page = list_backorders(_runtime(), ctx.shop_id, query)
    if problem and result is None:
        result = {"tone": "critical", "text": translate(ctx.locale, "common.error", message=problem)}
    filters = {name: request.args.getlist(name) if name == "status" else request.args.get(name)
               for name in FILTER_PARAMS if request.args.get(name)}
    return render_page(ctx, "admin/backorders.html", heading_key="backorders.title", status=status, page=page,
                       query=query, filters=filters, suppliers=supplier_choices(_runtime(), ctx.shop_id),
                       sort_keys=SORT_KEYS, statuses=("open", "ready", "shipped", "cancelled", "refunded"),
                       result=result, today=date.today())


@admin_page("/admin/backorders", nav="backorders")
def backorders_page(ctx: AdminContext):
    return _render_list(ctx)


@admin_page("/admin/backorders/<int:backorder_id>/<action>", nav="backorders", methods=("POST",),
            endpoint="backorder_action_form")
def backorder_action_form(ctx: AdminContext, backorder_id: int, action: str):
    """A line action posted by a form (no JavaScript): do it, then show the list with the result."""
    if action not in ACTIONS:
        return _render_list(ctx, result={"tone": "critical", "text": translate(ctx.locale, "error.not_found")},
                            status=404)
    if request.form.get("confirm") != "1":
        return _render_list(ctx, result={"tone": "critical", "text": translate(ctx.locale, "error.confirm_required")},
                            status=400)
    try:
        if action == "eta":
            done = _form_override(ctx, backorder_id)
        else:
            done = _run(ctx, action, backorder_id)
    except actions.ActionRefused as refused:
        return _render_list(ctx, result={"tone": "critical", "text": _refusal_text(ctx, refused)},
                            status=refused.status)
    return _render_list(ctx, result={"tone": _tone(done), "text": _done_text(ctx, done)})


def _form_override(ctx: AdminContext, backorder_id: int):
    if request.form.get("clear") == "1":
        return actions.override_eta(_runtime(), ctx.shop_id, backorder_id, None, None)
    try:
        day = date.fromisoformat(request.form.get("eta", ""))
    except ValueError:
        raise actions.ActionRefused(400, "invalid_date", "error.date_required") from None
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        raise actions.ActionRefused(400, "reason_required", "error.reason_required")
    return actions.override_eta(_runtime(), ctx.shop_id, backorder_id, day, reason)


def _run(ctx: AdminContext, action: str, backorder_id: int):
    runtime = _runtime()
    if action == "resend":
        return actions.resend_last_email(runtime, ctx.shop_id, backorder_id)
    if action == "refund":
        return actions.merchant_refund(runtime, ctx.shop_id, backorder_id)
    return actions.mark_shipped(runtime, ctx.shop_id, backorder_id)


def _done_text(ctx: AdminContext, done: actions.ActionDone) -> str:
    values = dict(done.values)
    if "date" in values:
        values["date"] = format_day(values["date"], ctx.locale) or translate(ctx.locale, "common.none")
    if done.key == "result.refunded":
        values["status"] = translate(ctx.locale, f"result.refund.{values.get('state')}", error=values.get("error", ""))
    return translate(ctx.locale, done.key, **values)


def _tone(done: actions.ActionDone) -> str:
    return "critical" if done.outcome in ("failed", "skipped") else "success"


def _refusal_text(ctx: AdminContext, refused: actions.ActionRefused) -> str:
    values = dict(refused.values)
    if "status" in values:
        values["status"] = translate(ctx.locale, f"status.{values['status']}") if values["status"] in (
            "open", "ready", "shipped", "cancelled", "refunded") else values["status"]
    return translate(ctx.locale, refused.key, **values)


# -- the API -------------------------------------------------------------------------------------
@api_route("GET", "/api/admin/backorders", summary="List backorder lines (filtered, sorted, paged)",
           query=BackorderQuery, response=BackorderPage, tags=["backorders"])
def api_list_backorders(ctx: AdminContext, query: BackorderQuery) -> BackorderPage:
    return list_backorders(_runtime(), ctx.shop_id, query)


@api_route("GET", "/api/admin/backorders/<int:backorder_id>", summary="One backorder line",
           response=BackorderRow, tags=["backorders"], errors={404: _ERRORS[404]})
def api_get_backorder(ctx: AdminContext, backorder_id: int) -> BackorderRow:
    row = backorder_row(_runtime(), ctx.shop_id, backorder_id)
    if row is None:
        raise ApiError(404, "not_found", translate(ctx.locale, "error.not_found"))
    return row


def _action_result(ctx: AdminContext, call) -> ActionResult:
    try:
        done = call()
    except actions.ActionRefused as refused:
        raise ApiError(refused.status, refused.code, _refusal_text(ctx, refused)) from None
    row = backorder_row(_runtime(), ctx.shop_id, done.backorder_id)
    return ActionResult(ok=_tone(done) == "success", message=_done_text(ctx, done), row=row, outcome=done.outcome)


@api_route("POST", "/api/admin/backorders/<int:backorder_id>/eta", summary="Override a line's ETA (or remove the override)",
           body=EtaOverrideIn, response=ActionResult, tags=["backorders"], errors=_ERRORS)
def api_override_eta(ctx: AdminContext, backorder_id: int, body: EtaOverrideIn) -> ActionResult:
    """The date is promised instead of the engine's until removed, through every recompute; a date
    later than the promise by more than the grace period is a delay the customer is told about."""
    return _action_result(ctx, lambda: actions.override_eta(_runtime(), ctx.shop_id, backorder_id, body.eta,
                                                             body.reason))


@api_route("POST", "/api/admin/backorders/<int:backorder_id>/resend", summary="Resend the last customer email of a line",
           response=ActionResult, tags=["backorders"], errors=_ERRORS)
def api_resend(ctx: AdminContext, backorder_id: int) -> ActionResult:
    """The last email about the line (or its order's confirmation) is queued again under a new key."""
    return _action_result(ctx, lambda: actions.resend_last_email(_runtime(), ctx.shop_id, backorder_id))


@api_route("POST", "/api/admin/backorders/<int:backorder_id>/refund", summary="Cancel and refund a line",
           response=ActionResult, tags=["backorders"], errors=_ERRORS)
def api_refund(ctx: AdminContext, backorder_id: int) -> ActionResult:
    """A merchant-initiated refund through the customer-choice refund path (exactly once per line)."""
    return _action_result(ctx, lambda: actions.merchant_refund(_runtime(), ctx.shop_id, backorder_id))


@api_route("POST", "/api/admin/backorders/<int:backorder_id>/shipped", summary="Mark a line as shipped",
           response=ActionResult, tags=["backorders"], errors=_ERRORS)
def api_mark_shipped(ctx: AdminContext, backorder_id: int) -> ActionResult:
    return _action_result(ctx, lambda: actions.mark_shipped(_runtime(), ctx.shop_id, backorder_id))
