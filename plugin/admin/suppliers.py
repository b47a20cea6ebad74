"""The Suppliers pages and their API: feeds with schedule, the last sync report with its row
errors, CSV upload, "sync now", create and edit, and how late each supplier is.

Pages (server-rendered; every action is a form that works without JavaScript):
    GET  /admin/suppliers                       the list, lateness chart (SVG + table), on-time rates
    GET  /admin/suppliers/new, POST /admin/suppliers          create
    GET  /admin/suppliers/<id>, POST /admin/suppliers/<id>    the report, upload, sync, edit
    POST /admin/suppliers/<id>/upload           multipart CSV -> sync_supplier(source="upload")
    POST /admin/suppliers/<id>/sync             URL feed now
The JSON API under /api/admin/suppliers does the same (the upload as the file's text).
"""
from __future__ import annotations

from flask import current_app, request

from plugin.admin.api import ApiError, api_route
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.charts import Bar, Figure, bar_chart
from plugin.admin.forms import form_checked, form_text, validate_form
from plugin.admin.i18n import translate
from plugin.admin.layout import render_page
from plugin.admin.supplier_changes import SupplierNotFound, SupplierRefused, create, edit, sync_now, upload
from plugin.admin.supplier_queries import list_suppliers, run_out, supplier_detail
from plugin.admin.supplier_schemas import SupplierDetail, SupplierIn, SupplierList, SupplierRow, SyncRunOut, UploadIn

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_NOT_FOUND = {404: "No such supplier in this shop"}
FORM_FIELDS = ("name", "email", "lead_time_days", "lead_time_spread_days", "handling_days", "feed_kind", "feed_url",
               "feed_format", "feed_auth_header", "sync_interval_minutes", "sync_cron", "primary_skus",
               "substitute_skus")


def _runtime():
    return current_app.extensions["backorder_desk"]


# -- the lateness chart ----------------------------------------------------------------------------
def _short(name: str, size: int = 14) -> str:
    return name if len(name) <= size else name[:size - 1] + "…"


def lateness_chart(rows: list[SupplierRow], locale: str) -> Figure:
    t = lambda key, **v: translate(locale, key, **v)  # noqa: E731
    bars, table = [], []
    for row in rows:
        late = row.lateness
        for level, value in (("P50", late.p50_days), ("P90", late.p90_days)):
            if value is None:
                continue
            bars.append(Bar(f"{_short(row.name)} {level}", float(value), t("suppliers.days", days=value),
                            f"{row.name}, {level}"))
        rate = f"{late.on_time_rate * 100:.0f}%" if late.on_time_rate is not None else t("common.none")
        table.append([row.name, t("suppliers.days", days=late.p50_days), t("suppliers.days", days=late.p90_days),
                      str(late.receipts), rate])
    return bar_chart(t("chart.lateness.title"), t("chart.lateness.desc"), bars, x_label=t("chart.lateness.x"),
                     y_label=t("chart.lateness.y"), empty_text=t("chart.empty"),
                     table_head=[t("suppliers.col.supplier"), "P50", "P90", t("suppliers.col.receipts"),
                                 t("suppliers.col.on_time")], table_rows=table)


# -- pages ---------------------------------------------------------------------------------------
def _critical(ctx: AdminContext, key: str, **values) -> dict:
    return {"tone": "critical", "text": translate(ctx.locale, key, **values)}


def _not_found(ctx: AdminContext):
    return _render_list(ctx, status=404, result=_critical(ctx, "suppliers.not_found"))


def _render_list(ctx: AdminContext, *, result: dict | None = None, status: int = 200):
    data = list_suppliers(_runtime(), ctx.shop_id)
    return render_page(ctx, "admin/suppliers.html", heading_key="suppliers.title", status=status, data=data,
                       lateness_figure=lateness_chart(data.suppliers, ctx.locale), result=result)


def _render_detail(ctx: AdminContext, supplier_id: int | None, *, result: dict | None = None, status: int = 200,
                   errors: dict | None = None, posted: dict | None = None, report: SyncRunOut | None = None):
    detail = supplier_detail(_runtime(), ctx.shop_id, supplier_id) if supplier_id is not None else None
    if supplier_id is not None and detail is None:
        return _not_found(ctx)
    report = report or (detail.last_run if detail is not None else None)
    heading = "suppliers.new" if detail is None else "suppliers.title"
    return render_page(ctx, "admin/supplier.html", heading_key=heading, status=status, supplier=detail, report=report,
                       errors=errors or {}, posted=posted, result=result,
                       max_upload_mb=MAX_UPLOAD_BYTES // (1024 * 1024))


@admin_page("/admin/suppliers", nav="suppliers")
def suppliers_page(ctx: AdminContext):
    return _render_list(ctx)


@admin_page("/admin/suppliers/new", nav="suppliers")
def supplier_new_page(ctx: AdminContext):
    return _render_detail(ctx, None)


@admin_page("/admin/suppliers/<int:supplier_id>", nav="suppliers")
def supplier_page(ctx: AdminContext, supplier_id: int):
    return _render_detail(ctx, supplier_id)


def _posted_supplier() -> dict:
    data = {name: request.form.get(name, "") for name in FORM_FIELDS}
    data["active"] = form_checked("active")
    data["clear_auth_header"] = form_checked("clear_auth_header")
    for name in ("email", "feed_url", "feed_format", "feed_auth_header", "sync_cron"):
        data[name] = form_text(name)
    return data


def _save(ctx: AdminContext, supplier_id: int | None):
    posted = _posted_supplier()
    data, errors = validate_form(SupplierIn, posted, ctx.locale)
    shown = {k: v for k, v in posted.items() if k != "feed_auth_header"}  # a secret is never echoed
    if data is None:
        return _render_detail(ctx, supplier_id, status=400, errors=errors, posted=shown,
                              result=_critical(ctx, "form.fix_errors"))
    try:
        if supplier_id is None:
            supplier_id = create(_runtime(), ctx.shop_id, data)
            key = "suppliers.created"
        else:
            edit(_runtime(), ctx.shop_id, supplier_id, data)
            key = "suppliers.saved"
    except SupplierNotFound:
        return _not_found(ctx)
    except SupplierRefused as refused:
        return _render_detail(ctx, supplier_id, status=400, errors={refused.field: translate(ctx.locale, refused.key)},
                              posted=shown, result=_critical(ctx, "form.fix_errors"))
    done = {"tone": "success", "text": translate(ctx.locale, key, name=data.name)}
    return _render_detail(ctx, supplier_id, result=done)


@admin_page("/admin/suppliers", nav="suppliers", methods=("POST",), endpoint="supplier_create_form")
def supplier_create_form(ctx: AdminContext):
    return _save(ctx, None)


@admin_page("/admin/suppliers/<int:supplier_id>", nav="suppliers", methods=("POST",), endpoint="supplier_edit_form")
def supplier_edit_form(ctx: AdminContext, supplier_id: int):
    return _save(ctx, supplier_id)


def _report_text(ctx: AdminContext, run: SyncRunOut) -> dict:
    tone = {"ok": "success", "not_modified": "success", "partial": "critical", "failed": "critical"}.get(run.status,
                                                                                                      "info")
    key = "suppliers.report.failed" if run.status == "failed" else "suppliers.report.done"
    return {"tone": tone, "text": translate(ctx.locale, key, applied=run.rows_applied, rejected=run.rows_rejected,
                                            unchanged=run.rows_unchanged, total=run.rows_total,
                                            status=translate(ctx.locale, f"run.status.{run.status}"))}


@admin_page("/admin/suppliers/<int:supplier_id>/upload", nav="suppliers", methods=("POST",),
            endpoint="supplier_upload_form")
def supplier_upload_form(ctx: AdminContext, supplier_id: int):
    """A multipart upload: the good rows apply, the bad ones are listed with their line."""
    file = request.files.get("file")
    data = file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    problem = None
    if not data:
        problem = "suppliers.upload_empty"
    elif len(data) > MAX_UPLOAD_BYTES:
        problem = "suppliers.upload_too_big"
    if problem:
        errors = {"file": translate(ctx.locale, problem, mb=MAX_UPLOAD_BYTES // 2**20)}
        return _render_detail(ctx, supplier_id, status=400, errors=errors, result=_critical(ctx, "form.fix_errors"))
    try:
        run = upload(_runtime(), ctx.shop_id, supplier_id, data)
    except (SupplierNotFound, LookupError):
        return _not_found(ctx)
    except SupplierRefused as refused:
        return _render_detail(ctx, supplier_id, status=409, errors={refused.field: translate(ctx.locale, refused.key)},
                              result=_critical(ctx, refused.key))
    report = run_out(run)
    return _render_detail(ctx, supplier_id, report=report, result=_report_text(ctx, report))


@admin_page("/admin/suppliers/<int:supplier_id>/sync", nav="suppliers", methods=("POST",),
            endpoint="supplier_sync_form")
def supplier_sync_form(ctx: AdminContext, supplier_id: int):
    try:
        run = sync_now(_runtime(), ctx.shop_id, supplier_id)
    except (SupplierNotFound, LookupError):
        return _not_found(ctx)
    except SupplierRefused as refused:
        return _render_detail(ctx, supplier_id, status=409, result=_critical(ctx, refused.key))
    report = run_out(run)
    return _render_detail(ctx, supplier_id, report=report, result=_report_text(ctx, report))


# -- the API -------------------------------------------------------------------------------------
def _api_detail(ctx: AdminContext, supplier_id: int) -> SupplierDetail:
    detail = supplier_detail(_runtime(), ctx.shop_id, supplier_id)
    if detail is None:
        raise ApiError(404, "not_found", translate(ctx.locale, "suppliers.not_found"))
    return detail


def _refused(ctx: AdminContext, refused: SupplierRefused, status: int = 409) -> ApiError:
    return ApiError(status, refused.key.rsplit(".", 1)[-1], translate(ctx.locale, refused.key),
                    details=[{"loc": ["body", refused.field], "msg": translate(ctx.locale, refused.key)}]
                    if refused.field else None)


@api_route("GET", "/api/admin/suppliers", summary="Suppliers with feed, schedule, last sync, lateness and on-time rate",
           response=SupplierList, tags=["suppliers"])
def api_list_suppliers(ctx: AdminContext) -> SupplierList:
    """P50/P90 days late come from the ETA engine's lateness model (Kaplan-Meier over the shop's
    purchase-order history, shrunk toward all suppliers); on-time rate: received lines received on
    or before their first promised date."""
    return list_suppliers(_runtime(), ctx.shop_id)


@api_route("POST", "/api/admin/suppliers", summary="Create a supplier", body=SupplierIn, response=SupplierDetail,
           status=201, tags=["suppliers"], errors={409: "A supplier of that name exists"})
def api_create_supplier(ctx: AdminContext, body: SupplierIn) -> SupplierDetail:
    try:
        supplier_id = create(_runtime(), ctx.shop_id, body)
    except SupplierRefused as refused:
        raise _refused(ctx, refused) from None
    return _api_detail(ctx, supplier_id)


@api_route("GET", "/api/admin/suppliers/<int:supplier_id>", summary="One supplier, its SKUs and latest syncs",
           response=SupplierDetail, tags=["suppliers"], errors=_NOT_FOUND)
def api_get_supplier(ctx: AdminContext, supplier_id: int) -> SupplierDetail:
    return _api_detail(ctx, supplier_id)


@api_route("PUT", "/api/admin/suppliers/<int:supplier_id>", summary="Edit a supplier (and replace its SKU lists)",
           body=SupplierIn, response=SupplierDetail, tags=["suppliers"],
           errors={**_NOT_FOUND, 409: "A supplier of that name exists"})
def api_edit_supplier(ctx: AdminContext, supplier_id: int, body: SupplierIn) -> SupplierDetail:
    try:
        edit(_runtime(), ctx.shop_id, supplier_id, body)
    except SupplierNotFound:
        raise ApiError(404, "not_found", translate(ctx.locale, "suppliers.not_found")) from None
    except SupplierRefused as refused:
        raise _refused(ctx, refused) from None
    return _api_detail(ctx, supplier_id)


@api_route("POST", "/api/admin/suppliers/<int:supplier_id>/upload", summary="Apply an uploaded CSV (or JSON) file",
           body=UploadIn, response=SyncRunOut, tags=["suppliers"],
           errors={**_NOT_FOUND, 409: "This supplier's lines come from the store"})
def api_upload_supplier_file(ctx: AdminContext, supplier_id: int, body: UploadIn) -> SyncRunOut:
    """Good rows apply, each rejected row is in `errors` with its line and reason; a file that
    cannot be read at all changes nothing (status failed, `message` says why)."""
    try:
        run = upload(_runtime(), ctx.shop_id, supplier_id, body.content.encode("utf-8"))
    except (SupplierNotFound, LookupError):
        raise ApiError(404, "not_found", translate(ctx.locale, "suppliers.not_found")) from None
    except SupplierRefused as refused:
        raise _refused(ctx, refused) from None
    return run_out(run)


@api_route("POST", "/api/admin/suppliers/<int:supplier_id>/sync", summary="Sync a URL feed now",
           response=SyncRunOut, tags=["suppliers"], errors={**_NOT_FOUND, 409: "The supplier has no URL feed"})
def api_sync_supplier(ctx: AdminContext, supplier_id: int) -> SyncRunOut:
    try:
        run = sync_now(_runtime(), ctx.shop_id, supplier_id)
    except (SupplierNotFound, LookupError):
        raise ApiError(404, "not_found", translate(ctx.locale, "suppliers.not_found")) from None
    except SupplierRefused as refused:
        raise _refused(ctx, refused) from None
    return run_out(run)
