"""The per-page form nonce: a POST must come from a confirm page this app rendered for that link.

No cookies are involved (Shopify's app proxy strips them, and a capability link needs none), so
the nonce is stateless: the link's jti and the date the page showed, signed with the app's
secret under its own salt, valid for a few hours. A POST with the link's token but no fresh
nonce (a scanner replaying a form, a page left open overnight) is asked to confirm again.
"""
from __future__ import annotations

from datetime import date

from itsdangerous import BadSignature, URLSafeTimedSerializer

FORM_SALT = "backorder-desk.choice-form.v1"
FORM_MAX_AGE = 6 * 3600
_NO_DATE = "-"


class StaleForm(Exception):
    """The form nonce is missing, forged, expired or for another link."""


def _serializer(runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.resolved_secret_key(), salt=FORM_SALT)


def form_nonce(runtime, jti: str, shown_eta: date | None) -> str:
    return _serializer(runtime).dumps({"j": jti, "d": shown_eta.isoformat() if shown_eta else _NO_DATE})


def read_form_nonce(runtime, nonce: str | None, jti: str) -> date | None:
    """The date the page showed; StaleForm when the nonce is not a fresh one for this link."""
    if not nonce or len(nonce) > 500:
        raise StaleForm()
    try:
        payload = _serializer(runtime).loads(nonce, max_age=FORM_MAX_AGE)
    except BadSignature:  # SignatureExpired included
        raise StaleForm() from None
    if not isinstance(payload, dict) or payload.get("j") != jti:
        raise StaleForm()
    shown = payload.get("d")
    try:
        return None if shown == _NO_DATE else date.fromisoformat(shown)
    except (TypeError, ValueError):
        raise StaleForm() from None
