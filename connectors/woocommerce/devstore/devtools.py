"""Demo helpers over HTTP, under /_devstore/ (nothing WooCommerce has): what a shopper or the
merchant would do in the browser, for the `make run` demo and the CLI.

POST /_devstore/orders            {"sku": "LAMP-S", "quantity": 3} or {"lines": [{"sku", "quantity"}]},
                                  optional email, status, payment_method, customer_note -> 201 the order
GET  /_devstore/orders/<id>       the order as the REST API shows it, plus its notes
POST /_devstore/products/<id>/stock  {"quantity": 5} sets it, {"restock": 2} adds
POST /_devstore/webhooks/run      runs the queued webhook deliveries -> [{topic, status, error}]
"""
from __future__ import annotations

import json

from .errors import RestError, StoreError


def handle(fake, method: str, path: str, body: bytes) -> tuple[int, object]:
    try:
        data = json.loads(body.decode("utf-8") or "{}") if body else {}
    except ValueError:
        return 400, {"error": "the body is not JSON"}
    parts = [p for p in path.strip("/").split("/") if p]
    try:
        if method == "POST" and parts == ["orders"]:
            lines = data.get("lines") or [{"sku": data.get("sku"), "quantity": data.get("quantity", 1)}]
            options = {k: data[k] for k in ("email", "status", "payment_method", "customer_note") if data.get(k)}
            order = fake.place_order([{"sku": line.get("sku"), "product_id": line.get("product_id"),
                                       "quantity": int(line.get("quantity", 1))} for line in lines], **options)
            return 201, order
        if method == "GET" and len(parts) == 2 and parts[0] == "orders":
            order = fake.order(int(parts[1]))
            return 200, dict(order, notes=fake.order_notes(int(parts[1])))
        if method == "POST" and len(parts) == 3 and parts[0] == "products" and parts[2] == "stock":
            product_id = int(parts[1])
            if "restock" in data:
                return 200, fake.restock(product_id, int(data["restock"]))
            return 200, fake.set_stock(product_id, int(data["quantity"]))
        if method == "POST" and parts == ["webhooks", "run"]:
            return 200, [{"topic": d.topic, "status": d.status, "error": d.error} for d in fake.flush_webhooks()]
    except (StoreError, RestError) as exc:  # StoreError is a ValueError: first
        return 422, {"error": str(exc)}
    except (KeyError, TypeError, ValueError) as exc:
        return 400, {"error": f"bad request: {exc}"}
    return 404, {"error": "no such devstore helper"}
