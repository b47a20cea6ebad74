"""/wc/v3/products, /products/<id>, /products/<id>/variations[/<id>] and their /batch."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .catalog import BACKORDERS, PRODUCT_STATUSES, PRODUCT_TYPES, STOCK_STATUSES, Product
from .errors import RestError, invalid_id
from .rest import Answer, Param, Req, Router, collection_params, date_filtered, is_integer, paginate, \
    require_auth, select_fields, sort_items, to_bool, validate
from .store import update_meta

BATCH_LIMIT = 100
PRODUCT_ORDERBY = ("date", "id", "include", "title", "slug", "modified", "menu_order", "price", "popularity", "rating")
PRODUCT_LIST = collection_params(
    PRODUCT_ORDERBY,
    status=Param(enum=("any", "future", "trash", "draft", "pending", "private", "publish"), default="any"),
    extra={"type": Param(enum=PRODUCT_TYPES), "sku": Param(), "stock_status": Param(enum=STOCK_STATUSES),
           "slug": Param()})
VARIATION_LIST = collection_params(
    PRODUCT_ORDERBY, status=Param(enum=("any", "future", "trash", "draft", "pending", "private", "publish"), default="any"),
    extra={"sku": Param(), "stock_status": Param(enum=STOCK_STATUSES)})
PRODUCT_FIELDS = {
    "type": Param(enum=PRODUCT_TYPES), "status": Param(enum=PRODUCT_STATUSES), "backorders": Param(enum=BACKORDERS),
    "stock_status": Param(enum=STOCK_STATUSES), "manage_stock": Param("boolean"), "stock_quantity": Param("integer"),
    "inventory_delta": Param("integer"), "low_stock_amount": Param("integer"), "menu_order": Param("integer"),
    "sku": Param(), "name": Param(), "regular_price": Param(), "sale_price": Param(), "context": Param(enum=("view", "edit"), default="view"),
}
SORT_KEYS = {
    "date": lambda p: (p.date_created, p.id), "modified": lambda p: (p.date_modified, p.id), "id": lambda p: p.id,
    "title": lambda p: (p.name.lower(), p.id), "slug": lambda p: (p.slug, p.id), "menu_order": lambda p: (p.menu_order, p.name),
    "price": lambda p: (_price(p.price), p.id), "popularity": lambda p: (p.total_sales, p.id), "rating": lambda p: p.id,
}


def _price(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal("0")


def batch_limit(body: dict) -> None:
    total = sum(len(body.get(k) or []) for k in ("create", "update", "delete") if isinstance(body.get(k), list))
    if total > BATCH_LIMIT:
        raise RestError("woocommerce_rest_request_entity_too_large",
                        f"Unable to accept more than {BATCH_LIMIT} items for this request.", 413)


def run_batch(body: dict, create, update, delete) -> Answer:
    """WC_REST_Controller::batch_items: sub-requests skip parameter validation; errors per item."""
    batch_limit(body)
    response: dict = {}

    def failed(item_id, error: RestError) -> dict:
        return {"id": item_id, "error": {"code": error.code, "message": error.message, "data": error.data}}

    for item in body.get("create") or []:
        try:
            response.setdefault("create", []).append(create(item if isinstance(item, dict) else {}))
        except RestError as error:
            response.setdefault("create", []).append(failed(0, error))
    for item in body.get("update") or []:
        item = item if isinstance(item, dict) else {}
        try:
            response.setdefault("update", []).append(update(item))
        except RestError as error:
            response.setdefault("update", []).append(failed(item.get("id"), error))
    for raw in body.get("delete") or []:
        item_id = int(raw) if is_integer(raw) else 0
        if item_id == 0:
            continue
        try:
            response.setdefault("delete", []).append(delete(item_id))
        except RestError as error:
            response.setdefault("delete", []).append(failed(item_id, error))
    return Answer(response or [])


def register(router: Router, fake) -> None:
    catalog, payloads, memory = fake.catalog, fake.payloads, fake.memory
    tz = memory.site.timezone

    def apply(product: Product, body: dict, *, validate_fields: bool) -> None:
        if validate_fields:
            validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        for name in ("name", "slug", "description", "short_description", "regular_price", "sale_price", "weight"):
            if body.get(name) is not None:
                setattr(product, name, str(body[name]))
        if body.get("status") is not None:
            product.status = str(body["status"]) if body["status"] in PRODUCT_STATUSES else "draft"
        if body.get("sku") is not None:
            sku = str(body["sku"]).strip()
            if sku and any(p.sku == sku and p.id != product.id for p in memory.products.values()):
                raise RestError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
            product.sku = sku
        if body.get("menu_order") not in (None, "") and is_integer(body["menu_order"]):
            product.menu_order = int(float(str(body["menu_order"])))
        if body.get("manage_stock") is not None:
            product.manage_stock = bool(to_bool(body["manage_stock"]))
        if body.get("stock_status") is not None:
            product.stock_status = body["stock_status"] if body["stock_status"] in STOCK_STATUSES else "instock"
        if body.get("backorders") is not None:
            product.backorders = str(body["backorders"])
        if product.manage_stock:
            if body.get("stock_quantity") is not None and is_integer(body["stock_quantity"]):
                product.stock_quantity = int(float(str(body["stock_quantity"])))
            elif body.get("inventory_delta") is not None and is_integer(body["inventory_delta"]):
                product.stock_quantity = int(product.stock_quantity or 0) + int(float(str(body["inventory_delta"])))
            if "low_stock_amount" in body:
                value = body["low_stock_amount"]
                product.low_stock_amount = int(float(str(value))) if is_integer(value) else None
        if isinstance(body.get("attributes"), list):
            product.attributes = [dict(a) for a in body["attributes"] if isinstance(a, dict)]
        for meta in body.get("meta_data") or []:
            if isinstance(meta, dict) and "key" in meta:
                update_meta(product.meta, str(meta["key"]), meta.get("value"), memory.post_meta_id, meta.get("id"))

    # -- products -------------------------------------------------------------------------------
    def product_list(req: Req) -> Answer:
        req.clean = validate(PRODUCT_LIST, req.body(), tz)
        require_auth(req, "list")
        c = req.clean
        items = fake.cached_list(("products", c), lambda: _filter_products(
            [p for p in memory.products.values() if p.type != "variation"], c, tz))
        answer = paginate(req, items, memory.site.home_url, "products")
        answer.data = select_fields([payloads.product(p) for p in answer.data], c.get("_fields"))
        return answer

    def create_product(body: dict, *, validate_fields: bool = False) -> dict:
        if body.get("id"):
            raise RestError("woocommerce_rest_product_exists", "Cannot create existing product.", 400)
        if validate_fields:
            validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        product = catalog.add(str(body.get("type") or "simple"), str(body.get("name") or "Product"),
                              sku=str(body.get("sku") or "").strip() or None)
        apply(product, body, validate_fields=False)
        catalog.save(product, event=False)
        return payloads.product(product)

    def product_create(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        require_auth(req, "create")
        data = create_product(body, validate_fields=True)
        return Answer(data, 201, [("Location", f"{payloads.rest_base}/products/{data['id']}")])

    def product_get(req: Req) -> Answer:
        product = catalog.get(int(req.param("id")))
        if product is not None:
            require_auth(req, "view")
        if product is None:  # the products controller lets the missing-object case through: 404
            raise invalid_id("product")
        answer = Answer(select_fields(payloads.product(product), req.param("_fields")))
        answer.headers.append(("Link", f'<{payloads.permalink(product)}>; rel="alternate"; type=text/html'))
        return answer

    def update_product(body: dict, *, validate_fields: bool = False) -> dict:
        product = catalog.get(int(body.get("id") or 0)) if is_integer(body.get("id") or 0) else None
        if product is None:
            raise invalid_id("product", 400)
        apply(product, body, validate_fields=validate_fields)
        catalog.save(product)
        return payloads.product(product)

    def product_update(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        if catalog.get(int(req.param("id"))) is not None:
            require_auth(req, "edit")
        return Answer(update_product(body, validate_fields=True))

    def delete_product(product_id: int, force: bool = True) -> dict:
        product = catalog.get(product_id)
        if product is None:
            raise invalid_id("product")
        data = payloads.product(product)
        if not force:
            if product.status == "trash":
                raise RestError("woocommerce_rest_already_trashed", "The product has already been deleted.", 410)
            product.status = "trash"
            catalog.save(product, event=False)
            memory.emit("product", "deleted", product.id)
            return payloads.product(product)
        for child_id in list(product.variation_ids):
            memory.products.pop(child_id, None)
        parent = catalog.parent(product)
        if parent is not None and product.id in parent.variation_ids:
            parent.variation_ids.remove(product.id)
            catalog.sync_parent(parent)
        memory.products.pop(product.id, None)
        memory.changed()
        return data

    def product_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        if catalog.get(int(req.param("id"))) is not None:
            require_auth(req, "delete")
        return Answer(delete_product(int(req.param("id")), bool(req.clean["force"])))

    def product_batch(req: Req) -> Answer:
        require_auth(req, "batch")
        return run_batch(req.body(), create_product, update_product, delete_product)

    router.add("products", get=product_list, post=product_create)
    router.add("products/batch", post_put_patch=product_batch)
    router.add(r"products/(?P<id>[\d]+)", get=product_get, post_put_patch=product_update, delete=product_delete)

    # -- variations -----------------------------------------------------------------------------
    def parent_of(req: Req) -> Product:
        parent = catalog.get(int(req.url_params["product_id"]))
        if parent is None or parent.type == "variation":
            raise invalid_id("product")
        return parent

    def variation_of(parent: Product, variation_id, status: int = 404) -> Product:
        variation = catalog.get(int(variation_id or 0)) if is_integer(variation_id or 0) else None
        if variation is None or variation.type != "variation" or variation.parent_id != parent.id:
            raise invalid_id("product_variation", status)
        return variation

    def variation_list(req: Req) -> Answer:
        req.clean = validate(VARIATION_LIST, req.body(), tz)
        require_auth(req, "list")
        parent = parent_of(req)
        items = _filter_products([catalog.get(i) for i in parent.variation_ids if catalog.get(i)], req.clean, tz,
                                 variations=True)
        answer = paginate(req, items, memory.site.home_url, f"products/{parent.id}/variations")
        answer.data = select_fields([payloads.variation(v) for v in answer.data], req.clean.get("_fields"))
        return answer

    def create_variation(parent: Product, body: dict) -> dict:
        if body.get("id"):
            raise RestError("woocommerce_rest_product_variation_exists", "Cannot create existing product_variation.", 400)
        variation = catalog.add("variation", parent.name, parent=parent, sku=str(body.get("sku") or "").strip() or None)
        apply(variation, body, validate_fields=False)
        catalog.save(variation, event=False)
        return payloads.variation(variation)

    def variation_create(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        require_auth(req, "create")
        data = create_variation(parent_of(req), body)
        return Answer(data, 201, [("Location", f"{payloads.rest_base}/products/{data['parent_id']}/variations/{data['id']}")])

    def variation_get(req: Req) -> Answer:
        require_auth(req, "view")
        variation = variation_of(parent_of(req), req.param("id"))
        return Answer(select_fields(payloads.variation(variation), req.param("_fields")))

    def update_variation(parent: Product, body: dict, validate_fields: bool = False) -> dict:
        variation = variation_of(parent, body.get("id"), 400)
        apply(variation, body, validate_fields=validate_fields)
        catalog.save(variation)
        return payloads.variation(variation)

    def variation_update(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in PRODUCT_FIELDS.items() if k in body}, body, tz)
        require_auth(req, "edit")
        return Answer(update_variation(parent_of(req), body, True))

    def delete_variation(parent: Product, variation_id: int, force: bool = True) -> dict:
        variation = variation_of(parent, variation_id)
        if not force:
            raise RestError("woocommerce_rest_trash_not_supported", "Variations do not support trashing.", 501)
        return delete_product(variation.id, True)

    def variation_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "delete")
        return Answer(delete_variation(parent_of(req), int(req.param("id")), bool(req.clean["force"])))

    def variation_batch(req: Req) -> Answer:
        require_auth(req, "batch")
        parent = parent_of(req)
        return run_batch(req.body(), lambda b: create_variation(parent, b), lambda b: update_variation(parent, b),
                         lambda i: delete_variation(parent, i))

    router.add(r"products/(?P<product_id>[\d]+)/variations", get=variation_list, post=variation_create)
    router.add(r"products/(?P<product_id>[\d]+)/variations/batch", post_put_patch=variation_batch)
    router.add(r"products/(?P<product_id>[\d]+)/variations/(?P<id>[\d]+)", get=variation_get,
               post_put_patch=variation_update, delete=variation_delete)


def _filter_products(products: list[Product], c: dict, tz: str, variations: bool = False) -> list[Product]:
    status = c.get("status") or "any"
    items = [p for p in products if (p.status != "trash" if status == "any" else p.status == status)]
    if c.get("type"):
        items = [p for p in items if p.type == c["type"]]
    if c.get("sku"):
        skus = {s.strip() for s in c["sku"].split(",") if s.strip()}
        items = [p for p in items if p.sku in skus]
    if c.get("stock_status"):
        items = [p for p in items if p.stock_status == c["stock_status"]]
    if c.get("slug"):
        items = [p for p in items if p.slug == c["slug"]]
    if c.get("search"):
        needle = c["search"].lower()
        items = [p for p in items if needle in p.name.lower() or needle in p.description.lower()]
    if c.get("include"):
        wanted = set(c["include"])
        items = [p for p in items if p.id in wanted]
    if c.get("exclude"):
        unwanted = set(c["exclude"])
        items = [p for p in items if p.id not in unwanted]
    if c.get("parent"):
        items = [p for p in items if p.parent_id in set(c["parent"])]
    if c.get("parent_exclude"):
        items = [p for p in items if p.parent_id not in set(c["parent_exclude"])]
    items = date_filtered(items, c, tz, lambda p: p.date_created, lambda p: p.date_modified)
    return sort_items(items, c, SORT_KEYS)
