"""The Emails pages and their API: the log, which kinds are sent, and per kind and language a
preview and the merchant's own subject and intro.

    GET  /admin/emails                      kinds (on/off switches) and the log (kind, status, pages)
    POST /admin/emails/switches             the switches form
    GET  /admin/emails/kind/<kind>?lang=pl  the preview (sandboxed iframe) and the texts form
    POST /admin/emails/kind/<kind>/<locale> save the texts

The preview is plugin/notifications/preview.py's (sample data, the shop's look and texts); its
HTML is shown in <iframe sandbox srcdoc> (no scripts, no same-origin access) with the plain-text
part beside it, so the page itself never carries the email's markup.
"""
from __future__ import annotations

from flask import current_app, request
from pydantic import ValidationError

from plugin.admin.api import ApiError, api_route, query_values
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.email_queries import LOCALES, email_kind, email_kinds, list_emails, save_texts, switch_kinds
from plugin.admin.email_schemas import EMAIL_STATUSES, PLACEHOLDERS, EmailKindsIn, EmailKindsOut, EmailLogPage, \
    EmailLogQuery, EmailPreviewOut, EmailResult, EmailTextIn
from plugin.admin.forms import form_checked, form_text, validate_form
from plugin.admin.i18n import translate
from plugin.admin.layout import render_page
from plugin.notifications import kinds

FILTER_PARAMS = ("kind", "status", "page", "per_page")


def _runtime():
    return current_app.extensions["backorder_desk"]


def render_preview(runtime, shop_id: int, kind: str, locale: str) -> EmailPreviewOut:
    from plugin.notifications.preview import preview

    rendered = preview(runtime, shop_id, kind, locale)
    return EmailPreviewOut(kind=kind, locale=locale, subject=rendered.subject, text=rendered.text, html=rendered.html)


# -- the log and the switches -------------------------------------------------------------------
def _log_query() -> tuple[EmailLogQuery, str | None]:
    try:
        return EmailLogQuery.model_validate(query_values(EmailLogQuery)), None
    except ValidationError as exc:
        return EmailLogQuery(), "; ".join(error["msg"] for error in exc.errors()[:3])


def _render_list(ctx: AdminContext, *, result: dict | None = None, status: int = 200):
    query, problem = _log_query()
    if problem and result is None:
        result = {"tone": "critical", "text": translate(ctx.locale, "common.error", message=problem)}
    filters = {name: request.args.get(name) for name in FILTER_PARAMS if request.args.get(name)}
    return render_page(ctx, "admin/emails.html", heading_key="emails.title", status=status,
                       kinds=email_kinds(_runtime(), ctx.shop_id), log=list_emails(_runtime(), ctx.shop_id, query),
                       query=query, filters=filters, statuses=EMAIL_STATUSES, all_kinds=kinds.ALL_KINDS,
                       locales=LOCALES, result=result)


@admin_page("/admin/emails", nav="emails")
def emails_page(ctx: AdminContext):
    return _render_list(ctx)


@admin_page("/admin/emails/switches", nav="emails", methods=("POST",), endpoint="email_switches_form")
def email_switches_form(ctx: AdminContext):
    switches = {kind: form_checked(f"kind_{kind}") for kind in kinds.ALL_KINDS}
    changed = switch_kinds(_runtime(), ctx.shop_id, switches)
    key = "emails.switches_saved" if changed else "settings.unchanged"
    return _render_list(ctx, result={"tone": "success", "text": translate(ctx.locale, key)})


# -- one kind: preview and texts -----------------------------------------------------------------
def _locale_arg() -> str:
    value = request.args.get("lang") or ""
    return value if value in LOCALES else "en"


def _render_kind(ctx: AdminContext, kind: str, locale: str, *, result: dict | None = None, status: int = 200,
                 errors: dict | None = None, posted: dict | None = None):
    if kind not in kinds.ALL_KINDS:
        unknown = {"tone": "critical", "text": translate(ctx.locale, "emails.unknown_kind")}
        return _render_list(ctx, status=404, result=unknown)
    return render_page(ctx, "admin/email_kind.html", heading_key="emails.title", status=status, kind=kind,
                       locale=locale, info=email_kind(_runtime(), ctx.shop_id, kind),
                       preview=render_preview(_runtime(), ctx.shop_id, kind, locale), locales=LOCALES,
                       placeholders=", ".join("{" + name + "}" for name in PLACEHOLDERS), errors=errors or {},
                       posted=posted, result=result)


@admin_page("/admin/emails/kind/<kind>", nav="emails")
def email_kind_page(ctx: AdminContext, kind: str):
    return _render_kind(ctx, kind, _locale_arg())


@admin_page("/admin/emails/kind/<kind>/<locale>", nav="emails", methods=("POST",), endpoint="email_texts_form")
def email_texts_form(ctx: AdminContext, kind: str, locale: str):
    if locale not in LOCALES:
        locale = "en"
    posted = {"subject": form_text("subject"), "intro": form_text("intro")}
    if request.form.get("reset") == "1":
        posted = {"subject": None, "intro": None}
    data, errors = validate_form(EmailTextIn, posted, ctx.locale)
    if kind not in kinds.ALL_KINDS:
        return _render_kind(ctx, kind, locale)
    if data is None:
        return _render_kind(ctx, kind, locale, status=400, errors=errors, posted=posted,
                            result={"tone": "critical", "text": translate(ctx.locale, "form.fix_errors")})
    changed = save_texts(_runtime(), ctx.shop_id, kind, locale, data)
    return _render_kind(ctx, kind, locale, result={"tone": "success", "text": _texts_saved(ctx, kind, locale, changed)})


def _texts_saved(ctx: AdminContext, kind: str, locale: str, changed: bool) -> str:
    key = "emails.texts_saved" if changed else "settings.unchanged"
    return translate(ctx.locale, key, kind=translate(ctx.locale, f"emails.kind.{kind}"),
                     language=translate(ctx.locale, f"locale.{locale}"))


# -- the API -------------------------------------------------------------------------------------
@api_route("GET", "/api/admin/emails", summary="The email log (newest first; filter by kind and status)",
           query=EmailLogQuery, response=EmailLogPage, tags=["emails"])
def api_email_log(ctx: AdminContext, query: EmailLogQuery) -> EmailLogPage:
    """Recipients are partly masked; `reason` says why a message was skipped or the last delivery error."""
    return list_emails(_runtime(), ctx.shop_id, query)


@api_route("GET", "/api/admin/emails/kinds", summary="Every kind of email: on or off, the shop's own and built-in texts",
           response=EmailKindsOut, tags=["emails"])
def api_email_kinds(ctx: AdminContext) -> EmailKindsOut:
    return email_kinds(_runtime(), ctx.shop_id)


@api_route("PATCH", "/api/admin/emails/kinds", summary="Switch kinds of email on or off", body=EmailKindsIn,
           response=EmailKindsOut, tags=["emails"])
def api_switch_email_kinds(ctx: AdminContext, body: EmailKindsIn) -> EmailKindsOut:
    switch_kinds(_runtime(), ctx.shop_id, dict(body.kinds))
    return email_kinds(_runtime(), ctx.shop_id)


def _known(ctx: AdminContext, kind: str, locale: str | None = None) -> None:
    if kind not in kinds.ALL_KINDS:
        raise ApiError(404, "not_found", translate(ctx.locale, "emails.unknown_kind"))
    if locale is not None and locale not in LOCALES:
        raise ApiError(404, "not_found", translate(ctx.locale, "emails.unknown_locale"))


@api_route("GET", "/api/admin/emails/preview/<kind>/<locale>", summary="A preview of one kind of email in one language",
           response=EmailPreviewOut, tags=["emails"], errors={404: "No such kind or language"})
def api_email_preview(ctx: AdminContext, kind: str, locale: str) -> EmailPreviewOut:
    """Sample data in the shop's look and with its own texts; nothing is sent or stored."""
    _known(ctx, kind, locale)
    return render_preview(_runtime(), ctx.shop_id, kind, locale)


@api_route("PUT", "/api/admin/emails/texts/<kind>/<locale>", summary="Set (or with nulls, remove) the shop's subject "
           "and intro of one kind in one language", body=EmailTextIn, response=EmailResult, tags=["emails"],
           errors={404: "No such kind or language"})
def api_save_email_texts(ctx: AdminContext, kind: str, locale: str, body: EmailTextIn) -> EmailResult:
    """Placeholders: {shop_name}, {order_name}, {customer_name}, {item}, {old_date}, {new_date}, {date}."""
    _known(ctx, kind, locale)
    changed = save_texts(_runtime(), ctx.shop_id, kind, locale, body)
    return EmailResult(ok=True, message=_texts_saved(ctx, kind, locale, changed),
                       kind=email_kind(_runtime(), ctx.shop_id, kind))
