"""The Products page and its API: per variant the stock, supply on the way, units waiting, the
ETA range and the supplier; and the merchant's manual ETA or lead time for a variant.

GET /admin/products lists variants (search, only backordered, pages) rendered on the server; each
row's "Set ETA or lead time" form posts to /admin/products/<id>/eta (works without JavaScript)
and the same change is POST /api/admin/products/<id>/eta. Both go through
product_queries.set_manual_eta, which recomputes the SKU in the same transaction.
"""
from __future__ import annotations

from datetime import date

from flask import current_app, request
from pydantic import ValidationError

from plugin.admin.actions import _push_marks
from plugin.admin.api import ApiError, api_route, query_values
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.forms import field_errors, form_text
from plugin.admin.i18n import format_day, translate
from plugin.admin.layout import render_page
from plugin.admin.product_queries import VariantNotFound, list_products, product_row, set_manual_eta
from plugin.admin.product_schemas import ManualEtaIn, ProductPage, ProductQuery, ProductResult, ProductRow

FILTER_PARAMS = ("q", "backordered", "page", "per_page")


def _runtime():
    return current_app.extensions["backorder_desk"]


def _page_query() -> tuple[ProductQuery, str | None]:
    try:
        return ProductQuery.model_validate(query_values(ProductQuery)), None
    except ValidationError as exc:
        return ProductQuery(), "; ".join(error["msg"] for error in exc.errors()[:3])


def _render(ctx: AdminContext, *, result: dict | None = None, status: int = 200, errors: dict | None = None,
            posted: dict | None = None):
    query, problem = _page_query()
    page = list_products(_runtime(), ctx.shop_id, query)
    if problem and result is None:
        result = {"tone": "critical", "text": translate(ctx.locale, "common.error", message=problem)}
    filters = {name: request.args.get(name) for name in FILTER_PARAMS if request.args.get(name)}
    return render_page(ctx, "admin/products.html", heading_key="products.title", status=status, page=page,
                       query=query, filters=filters, result=result, errors=errors or {}, posted=posted or {},
                       today=date.today())


@admin_page("/admin/products", nav="products")
def products_page(ctx: AdminContext):
    return _render(ctx)


@admin_page("/admin/products/<int:variant_id>/eta", nav="products", methods=("POST",), endpoint="product_eta_form")
def product_eta_form(ctx: AdminContext, variant_id: int):
    """The row's form (no JavaScript): save, then show the list with the result and any field error."""
    data = {"manual_eta": form_text("manual_eta"), "manual_lead_time_days": form_text("manual_lead_time_days")}
    if request.form.get("clear") == "1":
        data = {"manual_eta": None, "manual_lead_time_days": None}
    try:
        change = ManualEtaIn.model_validate(data)
    except ValidationError as exc:
        errors = {f"{variant_id}.{name}": text for name, text in field_errors(exc, ctx.locale).items()}
        return _render(ctx, status=400, errors=errors, posted={"id": variant_id, **data},
                       result={"tone": "critical", "text": translate(ctx.locale, "form.fix_errors")})
    try:
        row = _apply(ctx, variant_id, change)
    except VariantNotFound:
        return _render(ctx, status=404, result={"tone": "critical", "text": translate(ctx.locale, "products.not_found")})
    return _render(ctx, result={"tone": "success", "text": _saved_text(ctx, row)})


def _apply(ctx: AdminContext, variant_id: int, change: ManualEtaIn) -> ProductRow:
    runtime = _runtime()
    order_ids = set_manual_eta(runtime, ctx.shop_id, variant_id, change)
    _push_marks(runtime, ctx.shop_id, order_ids)
    row = product_row(runtime, ctx.shop_id, variant_id)
    if row is None:  # pragma: no cover - deleted between the two transactions
        raise VariantNotFound(variant_id)
    return row


def _saved_text(ctx: AdminContext, row: ProductRow) -> str:
    name = row.sku or row.title
    parts = []
    if row.manual_eta is not None:
        parts.append(translate(ctx.locale, "products.manual_eta_is", date=format_day(row.manual_eta, ctx.locale)))
    if row.manual_lead_time_days is not None:
        parts.append(translate(ctx.locale, "products.manual_lead_is", days=row.manual_lead_time_days))
    if not parts:
        return translate(ctx.locale, "products.manual_cleared", name=name)
    return translate(ctx.locale, "products.manual_saved", name=name, what="; ".join(parts))


# -- the API -------------------------------------------------------------------------------------
@api_route("GET", "/api/admin/products", summary="List variants with stock, supply, waiting units and ETAs",
           query=ProductQuery, response=ProductPage, tags=["products"])
def api_list_products(ctx: AdminContext, query: ProductQuery) -> ProductPage:
    return list_products(_runtime(), ctx.shop_id, query)


@api_route("GET", "/api/admin/products/<int:variant_id>", summary="One variant", response=ProductRow,
           tags=["products"], errors={404: "No such variant in this shop"})
def api_get_product(ctx: AdminContext, variant_id: int) -> ProductRow:
    row = product_row(_runtime(), ctx.shop_id, variant_id)
    if row is None:
        raise ApiError(404, "not_found", translate(ctx.locale, "products.not_found"))
    return row


@api_route("POST", "/api/admin/products/<int:variant_id>/eta", summary="Set or clear a variant's manual ETA or lead time",
           body=ManualEtaIn, response=ProductResult, tags=["products"], errors={404: "No such variant in this shop"})
def api_set_product_eta(ctx: AdminContext, variant_id: int, body: ManualEtaIn) -> ProductResult:
    """`manual_eta` is promised to the variant's waiting lines not covered by stock (until the day
    has passed); `manual_lead_time_days` replaces the supplier's lead time for lines nothing is on
    order for. A line's own ETA override still wins. The SKU is recomputed at once."""
    try:
        row = _apply(ctx, variant_id, body)
    except VariantNotFound:
        raise ApiError(404, "not_found", translate(ctx.locale, "products.not_found")) from None
    return ProductResult(ok=True, message=_saved_text(ctx, row), product=row)
