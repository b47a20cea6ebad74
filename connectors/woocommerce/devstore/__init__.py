"""A faithful fake WooCommerce ("dev store") for the test-suite and demos.

One `FakeWooCommerce` is one WordPress + WooCommerce site. Its `.wsgi_app` serves the REST API
(/wp-json/wc/v3/: products, variations, orders, notes, refunds, webhooks, the /batch endpoints,
system_status) with WooCommerce's authentication rules, errors and pagination headers, and the
/wc-auth/v1/ key-granting dance; it delivers webhooks and pings as WooCommerce does. The rules it
follows are written in the docstrings of the module that implements each (auth, rest, webhooks,
wc_auth, catalog, orders, refunds), with WooCommerce's own quirks kept.

Public API (stable; the connector's tests build on it)::

    fake = FakeWooCommerce("https://shop.example.com", deliver=hook)   # hook(url, headers, body) -> status
        # options: timezone_name, locale ("pl_PL": the Backordered meta is "Zamówione"), currency,
        # backordered_label, now (a clock), allow_local_urls (let the store POST to loopback/private
        # hosts and odd ports), allow_insecure_callback (http callback_url in /wc-auth), auto_approve
        # (True / "deny"), api_webhooks ("queue" | "thread"), store_webhooks ("immediate" | "queue"),
        # max_delivery_failures (5), gateways

    Ways in:   fake.routes_requests()  context manager: requests / woocommerce.API reach the fake
               fake.api(ck, cs, https=True)  a woocommerce.API for the site (http: OAuth 1.0a)
               fake.httpx_transport(), fake.requests_adapter(), fake.wsgi_app
    Keys:      fake.create_key(permissions="read_write") -> {key_id, consumer_key, consumer_secret, ...}
               fake.revoke_key(key_id), fake.api_keys()
    Catalogue: fake.add_product(name, sku=, price=, stock=None|int, backorders="no|notify|yes",
                   variations=[{sku, price, stock, backorders, attributes: {"Size": "S"}, meta}], meta={})
               fake.set_stock(id, qty, backorders=None), fake.restock(id, +qty), fake.update_product(id, **fields)
               fake.product(id), fake.variation(id), fake.product_meta(id), fake.product_id_by_sku(sku)
    Orders:    fake.place_order([(product_or_variation_id, qty)], status="processing", payment_method="stripe",
                   email=, customer_note=, created_via="checkout")   # checkout rules, stock, Backordered meta
               fake.set_order_status(id, status), fake.cancel_order(id), fake.trash_order(id)
               fake.order(id), fake.order_meta(id), fake.line_meta(id, line_id_or_index), fake.order_notes(id),
               fake.order_refunds(id), fake.emails
    Refunds:   fake.set_gateway(id, supports_refunds=, fail_message=), fake.gateway_refunds("stripe")
               (gateways: stripe refunds automatically; bacs, cheque, cod cannot)
    Webhooks:  fake.create_webhook(topic, url, secret=), fake.webhook(id), fake.webhooks(),
               fake.set_webhook_status(id, s), fake.flush_webhooks(), fake.pending_webhooks,
               fake.deliveries / fake.webhook_deliveries(topic) / fake.pings  (Delivery: kind, url, headers,
               body, status, error, webhook_id, topic, resource_id, delivery_id, payload),
               fake.deliver_raw(url, headers, body), FakeWooCommerce.sign(secret, body)
    /wc-auth:  fake.authorize_url(app_name, return_url, callback_url, user_id, scope), fake.approve(url),
               fake.deny(url), fake.authorizations, fake.merchant_cookies()
    Failures:  fake.fail_next(n, status=500|429|502|503|504|"timeout", path=None), fake.fail_deliveries(n)
    Requests:  fake.requests (Call: method, route, query, scheme, status, auth_method, key_id, seconds),
               fake.request_count, fake.reset_requests()
    Demo:      POST /_devstore/orders {"sku", "quantity"}, GET /_devstore/orders/<id>,
               POST /_devstore/products/<id>/stock {"quantity"|"restock"}, POST /_devstore/webhooks/run

WooCommerce behaviour a connector trips over, all reproduced here:
- A webhook created through the REST API is always active (its `status` is ignored) and is
  pinged (`webhook_id=N`, form-encoded, unsigned). The 7th failed delivery in a row disables it
  (`failure_count > 5`); re-enabling does not reset the count, so one more failure disables it.
  Delivery ids repeat for one webhook within a second. Payloads are built when sent: current state.
- The "Backordered" line meta exists only for checkout orders of products with backorders
  "notify", under the translated label; REST-created orders never get it and never check stock.
- The woocommerce package's OAuth signature does not match WooCommerce's for query values
  containing "/" (Python quote() keeps it, PHP rawurlencode() does not): 401 over plain HTTP.
- PHP keeps the last of repeated query keys: pass arrays comma-separated (status=a,b).
- Refund failures are HTTP 500 with `"data": 500`; notes never move the order's date_modified;
  every other save does (HPOS storage); date filters are strict and to the second.
- Outgoing POSTs to loopback/private hosts or unusual ports are refused unless allow_local_urls.
"""
from .deliveries import WebhookService
from .errors import RestError, StoreError
from .fake import Call, FakeWooCommerce
from .transport import DevstoreTimeout, HttpxTransport, WSGIAdapter, routes_requests
from .wc_auth import WcAuthError
from .webhooks import Delivery, sign

__all__ = ["Call", "Delivery", "DevstoreTimeout", "FakeWooCommerce", "HttpxTransport", "RestError", "StoreError",
           "WSGIAdapter", "WcAuthError", "WebhookService", "routes_requests", "sign"]
