"""shopify_app's webhook verification, without building a log copy of every body that nobody reads.

`ShopifyApp.verify_webhook_req` (shopifyapp 1.0.2) starts every call with `redact_http_log(request)`:
a copy of the request for the result's `log.req`, with secrets masked. For a webhook that means
decoding the whole JSON body and encoding it again (~0.27 ms of a 6 KB orders/create body on a
2-core VM: more than the HMAC itself by forty times, and about a seventh of a delivery's CPU in
bench/webhook_ingest.py). The webhook route never reads `log.req`.

So the verifier's module gets a redaction that is deferred, not dropped: `DeferredRedaction` is a
read-only mapping that calls shopify_app's own `redact_http_log` the first time anything reads it,
and then reads exactly as the library's copy would. The checks themselves (method, headers, the
HMAC of the body with the current and the old secret, constant time) are still shopify_app's.
The request dict must not change after the call: ours are built per call and dropped after it.

`install()` replaces the name only if it is still the library's function (an upgrade that moves it
leaves the library as it is: verification stays correct, just slower); tests/test_shopify_verification.py
checks that it applies with the pinned version and that a read log is the library's redacted copy.
"""
from __future__ import annotations

from collections.abc import Mapping

from shopify_app.utils import redact as _redact
from shopify_app.verify import _body_hmac_in_header as _verifier_module


class DeferredRedaction(Mapping):
    """shopify_app's redacted copy of a request, computed when first read."""

    __slots__ = ("_request", "_redacted")

    def __init__(self, request):
        self._request = request
        self._redacted = None

    def _value(self) -> dict:
        if self._redacted is None:
            self._redacted = _redact.redact_http_log(self._request)
            self._request = None
        return self._redacted

    def __getitem__(self, key):
        return self._value()[key]

    def __iter__(self):
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def __repr__(self) -> str:
        return repr(self._value())


def install() -> bool:
    """Defer the log copy in shopify_app's body-HMAC verifier (webhooks, Flow actions). Idempotent;
    False when the library no longer looks as expected (and is left alone)."""
    current = getattr(_verifier_module, "redact_http_log", None)
    if current is DeferredRedaction:
        return True
    if current is not _redact.redact_http_log:
        return False
    _verifier_module.redact_http_log = DeferredRedaction
    return True
