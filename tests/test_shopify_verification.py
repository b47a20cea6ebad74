"""shopify_app's webhook verification with its log copy deferred (connectors/shopify/verification.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from shopify_app import ShopifyApp
from shopify_app.utils.redact import redact_http_log
from shopify_app.verify import _body_hmac_in_header

from connectors.shopify import verification


def _signed(body: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()


def _request(body: str, signature: str) -> dict:
    return {"method": "POST", "url": "", "body": body,
            "headers": {"x-shopify-hmac-sha256": signature, "x-shopify-shop-domain": "demo.myshopify.com",
                        "x-shopify-access-token": "shpat_secret"}}


def test_install_applies_to_the_pinned_library_and_is_idempotent():
    assert verification.install() is True
    assert verification.install() is True
    assert _body_hmac_in_header.redact_http_log is verification.DeferredRedaction


def test_verification_outcomes_are_shopify_apps():
    verification.install()
    app = ShopifyApp(client_id="key", client_secret="new-secret", old_client_secret="old-secret")
    body = json.dumps({"id": 1, "line_items": [{"sku": "A", "quantity": 2}]})
    assert app.verify_webhook_req(_request(body, _signed(body, "new-secret"))).ok
    assert app.verify_webhook_req(_request(body, _signed(body, "old-secret"))).ok
    forged = app.verify_webhook_req(_request(body, _signed(body, "someone-else")))
    assert not forged.ok and forged.response.status == 401 and forged.log.code == "invalid_hmac"
    tampered = app.verify_webhook_req(_request(body + " ", _signed(body, "new-secret")))
    assert not tampered.ok


def test_a_read_log_is_the_librarys_redacted_copy(monkeypatch):
    verification.install()
    calls = []
    original = redact_http_log
    monkeypatch.setattr("shopify_app.utils.redact.redact_http_log",
                        lambda request: calls.append(1) or original(request))
    app = ShopifyApp(client_id="key", client_secret="new-secret")
    body = json.dumps({"id": 7, "access_token": "shpat_in_body", "note": "x"})
    request = _request(body, _signed(body, "new-secret"))
    result = app.verify_webhook_req(request)
    assert result.ok
    assert calls == []  # nothing read the log yet: no copy was made
    logged = dict(result.log.req)
    assert logged == original(request)  # exactly what the library would have logged
    assert "shpat_in_body" not in json.dumps(logged) and "shpat_secret" not in json.dumps(logged)
    dict(result.log.req)
    assert calls == [1]  # made once, on the first read
