"""The Settings page and GET/PATCH /api/admin/settings.

The page is one form (order tag, grace period, refund threshold and approval, promise
confidence, default lead time, which emails are sent, sender name, reply-to, the merchant's
address and language) validated by `SettingsIn`: each problem is shown next to its field and
listed at the top, and nothing is saved until all are fixed. A change to a setting the ETA
engine reads marks the waiting variants eta_dirty (settings_store.py).
"""
from __future__ import annotations

from flask import current_app, request

from plugin.admin.api import ApiError, api_route
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.forms import form_checked, validate_form
from plugin.admin.i18n import translate
from plugin.admin.layout import render_page
from plugin.admin.settings_schemas import PROMISE_QUANTILES, SettingsIn, SettingsOut, SettingsResult, \
    quantile_label
from plugin.admin.settings_store import SettingsChange, read_settings, update_settings
from plugin.locales import LOCALES
from plugin.notifications.kinds import ALL_KINDS, CUSTOMER_KINDS

CLEARABLE = ("email_sender_name", "email_reply_to", "merchant_email")
TEXT_FIELDS = ("order_tag", "delay_grace_days", "refund_threshold_days", "promise_quantile", "default_lead_time_days",
               "email_sender_name", "email_reply_to", "merchant_email", "merchant_locale")


class SettingsInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _runtime():
    return current_app.extensions["backorder_desk"]


def settings_out(values: dict) -> SettingsOut:
    return SettingsOut(**{name: values[name] for name in SettingsOut.model_fields})


def save_settings(runtime, shop_id: int, data: SettingsIn, locale: str) -> SettingsChange:
    """Check what only the merged settings can say, then store the fields that were sent."""
    changes = data.model_dump(exclude_none=True)
    for name in CLEARABLE:
        if changes.get(name) == "":
            changes[name] = None
    if "email_kinds" in changes:
        changes["email_kinds"] = {kind: bool(changes["email_kinds"].get(kind, True)) for kind in ALL_KINDS}
    merged = {**read_settings(runtime, shop_id), **changes}
    if int(merged["refund_threshold_days"]) <= int(merged["delay_grace_days"]):
        raise SettingsInvalid({"refund_threshold_days": translate(locale, "form.error.threshold_after_grace")})
    return update_settings(runtime, shop_id, changes)


def _result_text(ctx: AdminContext, change: SettingsChange) -> str:
    if not change.changed:
        return translate(ctx.locale, "settings.unchanged")
    text = translate(ctx.locale, "settings.saved")
    if change.variants_marked:
        text += " " + translate(ctx.locale, "settings.recomputing", count=change.variants_marked)
    return text


# -- the page ------------------------------------------------------------------------------------
def _render(ctx: AdminContext, *, values: dict | None = None, errors: dict | None = None, result: dict | None = None,
            status: int = 200):
    from plugin.choices.services import AWAITING, refund_requests

    waiting = len(refund_requests(_runtime(), ctx.shop_id, (AWAITING,)))
    return render_page(ctx, "admin/settings.html", heading_key="settings.title", status=status,
                       values=values or read_settings(_runtime(), ctx.shop_id), errors=errors or {}, result=result,
                       quantiles=[(q, quantile_label(q)) for q in PROMISE_QUANTILES], locales=LOCALES,
                       kinds=ALL_KINDS, customer_kinds=CUSTOMER_KINDS, refunds_waiting=waiting)


@admin_page("/admin/settings", nav="settings")
def settings_page(ctx: AdminContext):
    return _render(ctx)


def _posted() -> dict:
    data: dict = {name: (request.form.get(name) or "").strip() for name in TEXT_FIELDS}
    data["require_refund_approval"] = form_checked("require_refund_approval")
    data["email_kinds"] = {kind: form_checked(f"email_kind_{kind}") for kind in ALL_KINDS}
    return data


@admin_page("/admin/settings", nav="settings", methods=("POST",), endpoint="settings_form")
def settings_form(ctx: AdminContext):
    posted = _posted()
    data, errors = validate_form(SettingsIn, posted, ctx.locale)
    if data is not None:
        try:
            change = save_settings(_runtime(), ctx.shop_id, data, ctx.locale)
        except SettingsInvalid as invalid:
            errors = invalid.errors
        else:
            return _render(ctx, values=change.values, result={"tone": "success", "text": _result_text(ctx, change)})
    shown = {**read_settings(_runtime(), ctx.shop_id), **posted}
    return _render(ctx, values=shown, errors=errors, status=400,
                   result={"tone": "critical", "text": translate(ctx.locale, "form.fix_errors")})


# -- the API -------------------------------------------------------------------------------------
@api_route("GET", "/api/admin/settings", summary="The shop's settings", response=SettingsOut, tags=["settings"])
def api_get_settings(ctx: AdminContext) -> SettingsOut:
    return settings_out(read_settings(_runtime(), ctx.shop_id))


@api_route("PATCH", "/api/admin/settings", summary="Change some settings", body=SettingsIn, response=SettingsResult,
           tags=["settings"])
def api_patch_settings(ctx: AdminContext, body: SettingsIn) -> SettingsResult:
    """Fields left out keep their value; '' clears the sender name, reply-to and merchant email.
    Changing the promise quantile, grace period, refund threshold or default lead time marks the
    variants with waiting lines for the next ETA recompute (`variants_marked`)."""
    try:
        change = save_settings(_runtime(), ctx.shop_id, body, ctx.locale)
    except SettingsInvalid as invalid:
        raise ApiError(422, "invalid_request", translate(ctx.locale, "form.fix_errors"),
                       details=[{"loc": ["body", name], "msg": text, "type": "value_error"}
                                for name, text in invalid.errors.items()]) from None
    return SettingsResult(ok=True, message=_result_text(ctx, change), changed=change.changed,
                          variants_marked=change.variants_marked, settings=settings_out(change.values))
