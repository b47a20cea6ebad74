"""/wc/v3/orders[/<id>], /orders/batch, /orders/<id>/notes[/<id>], /orders/<id>/refunds[/<id>]."""
from __future__ import annotations

from decimal import Decimal

from .errors import RestError, invalid_id, missing_params
from .orders import ORDER_STATUSES, Order
from .rest import Answer, Param, Req, Router, collection_params, date_filtered, is_integer, paginate, \
    require_auth, select_fields, sort_items, to_bool, validate
from .routes_catalog import run_batch
from .store import update_meta

LIST_STATUSES = ("any", "trash", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                 "checkout-draft")
ORDER_LIST = collection_params(
    ("date", "id", "include", "title", "slug", "modified"),
    status=Param("array", ["any"], items_enum=LIST_STATUSES),
    extra={"customer": Param("integer"), "product": Param("integer"), "dp": Param("integer", 2)})
ORDER_FIELDS = {"status": Param(enum=tuple(s for s in ORDER_STATUSES if s != "trash")), "set_paid": Param("boolean"),
                "customer_id": Param("integer"), "context": Param(enum=("view", "edit"), default="view")}
SORT_KEYS = {"date": lambda o: (o.date_created, o.id), "modified": lambda o: (o.date_modified, o.id),
             "id": lambda o: o.id, "title": lambda o: (o.id,), "slug": lambda o: (o.id,)}


def _dp(req: Req) -> int:
    value = req.param("dp", 2)
    return int(float(str(value))) if is_integer(value) else 2


def register(router: Router, fake) -> None:
    memory, orders, refunds, payloads, catalog = fake.memory, fake.orders, fake.refunds, fake.payloads, fake.catalog
    tz = memory.site.timezone

    def line_product(posted: dict, action: str):
        """get_product_id(): sku, then product_id (no variation), then variation_id."""
        if posted.get("sku"):
            return catalog.by_sku(str(posted["sku"]))
        if posted.get("product_id") and not posted.get("variation_id"):
            return catalog.get(int(posted["product_id"])) if is_integer(posted["product_id"]) else None
        if posted.get("variation_id"):
            return catalog.get(int(posted["variation_id"])) if is_integer(posted["variation_id"]) else None
        if action == "update":
            return None
        raise RestError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)

    def set_lines(order: Order, lines) -> None:
        for posted in lines or []:
            if not isinstance(posted, dict):
                continue
            if posted.get("id"):
                line = next((l for l in order.line_items if l.id == int(posted["id"])), None)
                if line is None:
                    raise RestError("woocommerce_rest_invalid_item_id",
                                    "Order item ID provided is not associated with order.", 400)
                if ("quantity" in posted and is_integer(posted["quantity"]) and int(float(str(posted["quantity"]))) == 0) \
                        or ("product_id" in posted and posted["product_id"] is None):
                    order.line_items.remove(line)
                    continue
                if posted.get("quantity") not in (None, "") and is_integer(posted["quantity"]):
                    line.quantity = int(float(str(posted["quantity"])))
                for key in ("total", "subtotal"):
                    if posted.get(key) not in (None, ""):
                        setattr(line, key, Decimal(str(posted[key])))
                if posted.get("name"):
                    line.name = str(posted["name"])
            else:
                product = line_product(posted, "create")
                if product is None:
                    raise RestError("woocommerce_rest_invalid_product_id", "Invalid product ID.", 400)
                quantity = int(float(str(posted.get("quantity") or 1)))
                line = orders.add_line(order, product, quantity, total=posted.get("total"), name=posted.get("name"))
            for meta in posted.get("meta_data") or []:
                if isinstance(meta, dict) and "key" in meta:
                    update_meta(line.meta, str(meta["key"]), meta.get("value"), memory.item_meta_id, meta.get("id"))

    def apply(order: Order, body: dict) -> None:
        for name in ("billing", "shipping"):
            if isinstance(body.get(name), dict):
                getattr(order, name).update({k: str(v) for k, v in body[name].items() if k in getattr(order, name)})
        for name in ("payment_method", "payment_method_title", "transaction_id", "customer_note", "currency"):
            if body.get(name) is not None:
                setattr(order, name, str(body[name]))
        if body.get("customer_id") is not None and is_integer(body["customer_id"]):
            order.customer_id = int(body["customer_id"])
        set_lines(order, body.get("line_items"))
        for shipping in body.get("shipping_lines") or []:
            if isinstance(shipping, dict) and shipping.get("total") not in (None, ""):
                order.shipping_total = Decimal(str(shipping["total"]))
        for meta in body.get("meta_data") or []:
            if isinstance(meta, dict) and "key" in meta:
                update_meta(order.meta, str(meta["key"]), meta.get("value"), memory.post_meta_id, meta.get("id"))

    def existing(order_id, status: int = 404) -> Order:
        order = orders.get(int(order_id)) if is_integer(order_id or 0) else None
        if order is None:
            raise invalid_id("shop_order", status)
        return order

    # -- orders ---------------------------------------------------------------------------------
    def order_list(req: Req) -> Answer:
        req.clean = validate(ORDER_LIST, req.body(), tz)
        require_auth(req, "list")
        items = fake.cached_list(("orders", req.clean), lambda: _filter_orders(list(memory.orders.values()),
                                                                               req.clean, tz))
        answer = paginate(req, items, memory.site.home_url, "orders")
        dp = req.clean.get("dp") if req.clean.get("dp") is not None else 2
        answer.data = select_fields([payloads.order(o, dp) for o in answer.data], req.clean.get("_fields"))
        return answer

    def create_order(body: dict) -> dict:
        if body.get("id"):
            raise RestError("woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.", 400)
        order = orders.new_order(created_via="rest-api")
        apply(order, body)
        orders.save(order, created=True)
        status = body.get("status")
        if status and status != "pending":
            orders.set_status(order, str(status))
            orders.save(order)
        if to_bool(body.get("set_paid", False)):
            orders.payment_complete(order, str(body.get("transaction_id") or ""))
            orders.save(order)
        return payloads.order(order)

    def order_create(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in ORDER_FIELDS.items() if k in body}, body, tz)
        require_auth(req, "create")
        data = create_order(body)
        return Answer(data, 201, [("Location", f"{payloads.rest_base}/orders/{data['id']}")])

    def order_get(req: Req) -> Answer:
        require_auth(req, "view")
        order = existing(req.param("id"))
        return Answer(select_fields(payloads.order(order, _dp(req)), req.param("_fields")))

    def update_order(body: dict) -> dict:
        order = existing(body.get("id"), 400)
        apply(order, body)
        status = body.get("status")
        if status and status != order.status:
            orders.set_status(order, str(status), manual=True)
        if to_bool(body.get("set_paid", False)):
            orders.payment_complete(order, str(body.get("transaction_id") or ""))
        orders.save(order)
        return payloads.order(order)

    def order_update(req: Req) -> Answer:
        body = req.body()
        validate({k: v for k, v in ORDER_FIELDS.items() if k in body}, body, tz)
        require_auth(req, "edit")
        return Answer(update_order(body))

    def delete_order(order_id: int, force: bool = True) -> dict:
        order = existing(order_id)
        data = payloads.order(order)
        if not force:
            if order.status == "trash":
                raise RestError("woocommerce_rest_already_trashed", "The order has already been deleted.", 410)
            order.status = "trash"
            order.date_modified = memory.now()
            memory.emit("order", "deleted", order.id)
            memory.changed()
            return payloads.order(order)
        memory.orders.pop(order.id, None)
        memory.changed()
        return data

    def order_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "delete")
        return Answer(delete_order(int(req.param("id")), bool(req.clean["force"])))

    def order_batch(req: Req) -> Answer:
        require_auth(req, "batch")
        return run_batch(req.body(), create_order, update_order, delete_order)

    router.add("orders", get=order_list, post=order_create)
    router.add("orders/batch", post_put_patch=order_batch)
    router.add(r"orders/(?P<id>[\d]+)", get=order_get, post_put_patch=order_update, delete=order_delete)

    # -- notes ----------------------------------------------------------------------------------
    def note_order(req: Req) -> Order:
        order = orders.get(int(req.url_params["order_id"]))
        if order is None:
            raise RestError("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        return order

    def notes_list(req: Req) -> Answer:
        req.clean = validate({"type": Param(enum=("any", "customer", "internal"), default="any"),
                              "context": Param(enum=("view", "edit"), default="view")}, req.body(), tz)
        require_auth(req, "list")
        order = note_order(req)
        kind = req.clean["type"]
        notes = [n for n in reversed(order.notes)
                 if kind == "any" or (kind == "customer") == n.customer_note]
        return Answer([payloads.note(order, n) for n in notes])

    def note_create(req: Req) -> Answer:
        req.clean = validate({"note": Param(), "customer_note": Param("boolean", False),
                              "added_by_user": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "create")
        order = note_order(req)
        if not req.clean.get("note"):
            raise missing_params(["note"]) if req.clean.get("note") is None else \
                RestError("woocommerce_rest_invalid_order_note", "Cannot create order note, please try again.", 500)
        note = orders.add_note(order, req.clean["note"], req.clean["customer_note"], req.clean["added_by_user"])
        return Answer(payloads.note(order, note), 201,
                      [("Location", f"{payloads.rest_base}/orders/{order.id}/notes/{note.id}")])

    def find_note(req: Req):
        order = note_order(req)
        note = next((n for n in order.notes if n.id == int(req.param("id"))), None)
        if note is None:
            raise RestError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        return order, note

    def note_get(req: Req) -> Answer:
        require_auth(req, "view")
        order, note = find_note(req)
        return Answer(payloads.note(order, note))

    def note_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "delete")
        if not req.clean["force"]:
            raise RestError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        order, note = find_note(req)
        order.notes.remove(note)
        memory.changed()
        return Answer(payloads.note(order, note))

    router.add(r"orders/(?P<order_id>[\d]+)/notes", get=notes_list, post=note_create)
    router.add(r"orders/(?P<order_id>[\d]+)/notes/(?P<id>[\d]+)", get=note_get, delete=note_delete)

    # -- refunds --------------------------------------------------------------------------------
    def refunds_list(req: Req) -> Answer:
        req.clean = validate(collection_params(("date", "id", "include", "title", "slug", "modified"),
                                               extra={"dp": Param("integer", 2)}), req.body(), tz)
        require_auth(req, "list")
        order = orders.get(int(req.url_params["order_id"]))
        items = [memory.refunds[i] for i in (order.refund_ids if order else []) if i in memory.refunds]
        items = sort_items(items, req.clean, {"date": lambda r: (r.date_created, r.id), "id": lambda r: r.id,
                                              "modified": lambda r: (r.date_created, r.id)})
        answer = paginate(req, items, memory.site.home_url, f"orders/{req.url_params['order_id']}/refunds")
        answer.data = [payloads.refund(r, req.clean.get("dp") or 2) for r in answer.data]
        return answer

    def refund_create(req: Req) -> Answer:
        body = req.body()
        req.clean = validate({"api_refund": Param("boolean", True), "api_restock": Param("boolean", True),
                              "amount": Param(), "reason": Param()}, body, tz)
        require_auth(req, "create")
        order = orders.get(int(req.url_params["order_id"]))
        if order is None:
            raise RestError("woocommerce_rest_invalid_order_id", "Invalid order ID.", bare_data=404)
        refund = refunds.create(order, body.get("amount"), str(body.get("reason") or ""), body.get("line_items"),
                                refund_payment=req.clean["api_refund"], restock_items=req.clean["api_restock"],
                                meta_data=body.get("meta_data"))
        return Answer(payloads.refund(refund), 201,
                      [("Location", f"{payloads.rest_base}/orders/{order.id}/refunds/{refund.id}")])

    def find_refund(req: Req):
        refund = memory.refunds.get(int(req.param("id")))
        if refund is None or refund.order_id != int(req.url_params["order_id"]):
            raise invalid_id("shop_order_refund")
        return refund

    def refund_get(req: Req) -> Answer:
        require_auth(req, "view")
        return Answer(payloads.refund(find_refund(req), _dp(req)))

    def refund_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "delete")
        refund = find_refund(req)
        if not req.clean["force"]:
            raise RestError("woocommerce_rest_trash_not_supported", "Refunds do not support trashing.", 501)
        data = payloads.refund(refund)
        order = orders.get(refund.order_id)
        memory.refunds.pop(refund.id, None)
        if order is not None and refund.id in order.refund_ids:
            order.refund_ids.remove(refund.id)
            orders.save(order)  # woocommerce_delete_order_refund -> order.updated
        memory.changed()
        return Answer(data)

    router.add(r"orders/(?P<order_id>[\d]+)/refunds", get=refunds_list, post=refund_create)
    router.add(r"orders/(?P<order_id>[\d]+)/refunds/(?P<id>[\d]+)", get=refund_get, delete=refund_delete)


def _filter_orders(items: list[Order], c: dict, tz: str) -> list[Order]:
    statuses = c.get("status") or ["any"]
    if "any" in statuses:
        items = [o for o in items if o.status not in ("trash", "checkout-draft")]
    else:
        items = [o for o in items if o.status in statuses]
    if c.get("customer") is not None:
        items = [o for o in items if o.customer_id == c["customer"]]
    if c.get("product") is not None:
        items = [o for o in items if any(c["product"] in (l.product_id, l.variation_id) for l in o.line_items)]
    if c.get("search"):
        needle = c["search"].lower()
        items = [o for o in items if needle in str(o.id) or needle in o.billing.get("email", "").lower()
                 or needle in (o.billing.get("first_name", "") + " " + o.billing.get("last_name", "")).lower()]
    if c.get("include"):
        wanted = set(c["include"])
        items = [o for o in items if o.id in wanted]
    if c.get("exclude"):
        unwanted = set(c["exclude"])
        items = [o for o in items if o.id not in unwanted]
    items = date_filtered(items, c, tz, lambda o: o.date_created, lambda o: o.date_modified)
    return sort_items(items, c, SORT_KEYS)
