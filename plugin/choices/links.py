"""Signed keep-or-refund links: what an email puts behind "keep waiting" and "cancel and refund".

A link's token is the capability: whoever holds it may make that one choice for that one
backordered line, until it expires. It is signed with the app's secret key (itsdangerous,
HMAC-SHA1 over a salted key derivation, compared in constant time) and carries:

    s  shop id            b  backorder id        v  promise version
    c  "keep" | "refund"  j  a random nonce (jti, stored as CustomerChoice.token_id)
    x  expiry (unix seconds), fixed when the email is written

The expiry travels inside the token, so changing the shop's setting later does not shorten or
stretch links already sent. Single use is not the token's job: one CustomerChoice per (line,
promise version) is, so both links of one email stop working once either was used.

Where a link points: on Shopify, the shop's storefront through the app proxy
(`https://<shop>/<prefix>/<subpath>/choice?t=…`, manifest.json shopify.app_proxy), so the page
wears the shop's theme; elsewhere the app's own `APP_URL/choice?t=…`.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from plugin.choices.config import MAX_LINK_EXPIRY_DAYS, link_expiry_days

CHOICES = ("keep", "refund")
LINK_SALT = "backorder-desk.choice-link.v1"
# The signature's own age limit: a backstop above the longest expiry a shop may set.
MAX_TOKEN_AGE = (MAX_LINK_EXPIRY_DAYS + 1) * 86400
APP_CHOICE_PATH = "/choice"


class LinkRejected(Exception):
    """A link that must change nothing. `reason`: invalid (tampered, malformed) | expired."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChoiceClaims:
    shop_id: int
    backorder_id: int
    promise_version: int
    choice: str
    jti: str
    expires_at: int


def _serializer(runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.resolved_secret_key(), salt=LINK_SALT)


def make_token(runtime, shop_id: int, backorder_id: int, promise_version: int, choice: str, *,
               expires_in_days: int, now: float | None = None) -> str:
    if choice not in CHOICES:
        raise ValueError(f"choice must be one of {CHOICES}, not {choice!r}")
    issued = time.time() if now is None else now
    payload = {"s": int(shop_id), "b": int(backorder_id), "v": int(promise_version), "c": choice,
               "j": secrets.token_urlsafe(16), "x": int(issued + expires_in_days * 86400)}
    return _serializer(runtime).dumps(payload)


def read_token(runtime, token: str | None, *, now: float | None = None) -> ChoiceClaims:
    """The claims of a genuine, unexpired token; LinkRejected otherwise (nothing is looked up)."""
    if not token or len(token) > 1000 or not _canonical_signature(token):
        raise LinkRejected("invalid")
    try:
        payload = _serializer(runtime).loads(token, max_age=MAX_TOKEN_AGE)
    except SignatureExpired:
        raise LinkRejected("expired") from None
    except BadSignature:
        raise LinkRejected("invalid") from None
    try:
        claims = ChoiceClaims(shop_id=int(payload["s"]), backorder_id=int(payload["b"]),
                              promise_version=int(payload["v"]), choice=str(payload["c"]),
                              jti=str(payload["j"]), expires_at=int(payload["x"]))
    except (KeyError, TypeError, ValueError):
        raise LinkRejected("invalid") from None
    if claims.choice not in CHOICES or not claims.jti or len(claims.jti) > 64:
        raise LinkRejected("invalid")
    if (time.time() if now is None else now) >= claims.expires_at:
        raise LinkRejected("expired")
    return claims


def _canonical_signature(token: str) -> bool:
    """Whether the signature segment is the one spelling of its bytes.

    A signature of 20 bytes is 27 base64 characters whose last one carries two unused bits, so
    four spellings decode alike; accepting only the canonical one keeps each link one string
    (what is logged, compared or rate-limited is then the link itself).
    """
    sig = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(sig)) == sig.encode("ascii")
    except (BadData, UnicodeEncodeError):  # not base64 at all (BadData), or not ASCII
        return False


def choice_url(runtime, shop, token: str) -> str:
    query = urlencode({"t": token})
    if shop.platform == "shopify":
        from connectors.shopify.manifest import shopify_manifest

        proxy = shopify_manifest()["app_proxy"]
        return f"https://{shop.domain}/{proxy['prefix']}/{proxy['subpath']}{APP_CHOICE_PATH}?{query}"
    return f"{runtime.settings.public_url}{APP_CHOICE_PATH}?{query}"


def choice_links(runtime, shop, backorder_id: int, promise_version: int, *,
                 now: float | None = None) -> dict[str, str]:
    """{"keep": url, "refund": url} for one backordered line at one promise version.

    Pure: no database, no network, so it can run inside the transaction that writes the email.
    Each call makes new nonces; the links of one email become single-use together once stored
    choices exist (CustomerChoice is unique per line and promise version).
    """
    days = link_expiry_days(shop)
    return {choice: choice_url(runtime, shop, make_token(runtime, shop.id, backorder_id, promise_version, choice,
                                                         expires_in_days=days, now=now))
            for choice in CHOICES}
