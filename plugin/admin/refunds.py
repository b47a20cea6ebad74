"""Refund requests waiting for the merchant (the approval queue) and their API.

When the shop requires approval (`require_refund_approval`), a customer's "cancel and refund"
waits here; refunds that failed wait here too. The page (/admin/refunds, beside Backorders in
the navigation, and linked from Settings next to the approval switch) lists them with
"approve" (refund now), "reject" (with a reason; the line keeps waiting) and, for failed ones,
"try again" (same idempotency key: never a second refund). All through plugin/choices/services.py.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from plugin.admin.api import ApiError, api_route
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.forms import form_text
from plugin.admin.i18n import translate
from plugin.admin.layout import render_page
from plugin.db.models import CustomerChoice

ACTIONS = ("approve", "reject", "retry")
_ERRORS = {404: "No such refund request in this shop", 409: "The request is not in a state that allows this"}


class RefundRequestOut(BaseModel):
    choice_id: int
    status: Literal["awaiting_approval", "failed"]
    requested_at: datetime
    error: str | None
    order_name: str
    item: str | None
    quantity: int
    backorder_id: int
    backorder_status: str


class RefundRequestList(BaseModel):
    requests: list[RefundRequestOut]
    approval_required: bool


class RefundDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000, description="Why (kept with a rejection).")


class RefundDecisionResult(BaseModel):
    ok: bool
    message: str
    status: str = Field(description="The request's status now: refunded, refunding, failed or rejected.")


def _runtime():
    return current_app.extensions["backorder_desk"]


def refund_list(runtime, shop_id: int) -> RefundRequestList:
    from plugin.choices.config import refund_approval_required
    from plugin.choices.services import refund_requests
    from plugin.db.models import Shop

    with runtime.db.shop_session(shop_id) as session:
        required = refund_approval_required(session.get(Shop, shop_id))
    return RefundRequestList(requests=[RefundRequestOut(**row) for row in refund_requests(runtime, shop_id)],
                             approval_required=required)


class RefundRefused(Exception):
    def __init__(self, status: int, code: str, key: str, detail: str = ""):
        super().__init__(code)
        self.status, self.code, self.key, self.detail = status, code, key, detail


def decide(runtime, shop_id: int, choice_id: int, action: str, reason: str | None = None) -> str:
    """Approve, reject or retry a request of this shop; its status afterwards."""
    from plugin.choices import services as choices

    with runtime.db.shop_session(shop_id) as session:
        found = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id,
                                                             CustomerChoice.choice == choices.REFUND)).one_or_none()
    if found is None:  # another shop's request looks exactly like a missing one
        raise RefundRefused(404, "not_found", "refunds.not_found")
    try:
        if action == "approve":
            return choices.approve_refund(runtime, shop_id, choice_id)
        if action == "reject":
            return choices.reject_refund(runtime, shop_id, choice_id, reason)
        return choices.retry_refund(runtime, shop_id, choice_id)
    except choices.ChoiceError as exc:
        raise RefundRefused(409, "not_allowed", "refunds.not_allowed", str(exc)) from None


def _done_text(ctx: AdminContext, status: str) -> str:
    return translate(ctx.locale, f"refunds.done.{status}") if status in ("refunded", "refunding", "failed",
                                                                         "rejected") else status


def _render(ctx: AdminContext, *, result: dict | None = None, status: int = 200):
    return render_page(ctx, "admin/refunds.html", heading_key="refunds.title", status=status,
                       data=refund_list(_runtime(), ctx.shop_id), result=result)


@admin_page("/admin/refunds", nav="refunds")
def refunds_page(ctx: AdminContext):
    return _render(ctx)


@admin_page("/admin/refunds/<int:choice_id>/<action>", nav="refunds", methods=("POST",),
            endpoint="refund_decision_form")
def refund_decision_form(ctx: AdminContext, choice_id: int, action: str):
    if action not in ACTIONS:
        return _render(ctx, status=404, result={"tone": "critical", "text": translate(ctx.locale, "refunds.not_found")})
    if request.form.get("confirm") != "1":
        return _render(ctx, status=400,
                       result={"tone": "critical", "text": translate(ctx.locale, "error.confirm_required")})
    try:
        state = decide(_runtime(), ctx.shop_id, choice_id, action, (form_text("reason") or "")[:2000] or None)
    except RefundRefused as refused:
        text = translate(ctx.locale, refused.key, detail=refused.detail)
        return _render(ctx, status=refused.status, result={"tone": "critical", "text": text})
    tone = "critical" if state == "failed" else "success"
    return _render(ctx, result={"tone": tone, "text": _done_text(ctx, state)})


# -- the API -------------------------------------------------------------------------------------
@api_route("GET", "/api/admin/refund-requests", summary="Refund requests waiting for approval, and failed refunds",
           response=RefundRequestList, tags=["refunds"])
def api_refund_requests(ctx: AdminContext) -> RefundRequestList:
    return refund_list(_runtime(), ctx.shop_id)


def _api_decide(ctx: AdminContext, choice_id: int, action: str, reason: str | None = None) -> RefundDecisionResult:
    try:
        state = decide(_runtime(), ctx.shop_id, choice_id, action, reason)
    except RefundRefused as refused:
        text = translate(ctx.locale, refused.key, detail=refused.detail)
        raise ApiError(refused.status, refused.code, text) from None
    return RefundDecisionResult(ok=state != "failed", message=_done_text(ctx, state), status=state)


@api_route("POST", "/api/admin/refund-requests/<int:choice_id>/approve", summary="Approve a request: refund it now",
           response=RefundDecisionResult, tags=["refunds"], errors=_ERRORS)
def api_approve_refund(ctx: AdminContext, choice_id: int) -> RefundDecisionResult:
    return _api_decide(ctx, choice_id, "approve")


@api_route("POST", "/api/admin/refund-requests/<int:choice_id>/reject", summary="Reject a request (the line keeps waiting)",
           body=RefundDecisionIn, response=RefundDecisionResult, tags=["refunds"], errors=_ERRORS)
def api_reject_refund(ctx: AdminContext, choice_id: int, body: RefundDecisionIn) -> RefundDecisionResult:
    return _api_decide(ctx, choice_id, "reject", body.reason)


@api_route("POST", "/api/admin/refund-requests/<int:choice_id>/retry", summary="Try a failed refund again (same key)",
           response=RefundDecisionResult, tags=["refunds"], errors=_ERRORS)
def api_retry_refund(ctx: AdminContext, choice_id: int) -> RefundDecisionResult:
    return _api_decide(ctx, choice_id, "retry")
