"""GET /admin/launch/woocommerce: how a WooCommerce merchant opens the admin.

The companion plugin (WooCommerce -> Backorders) makes, on the server, a link

    APP_URL/admin/launch/woocommerce?store=<home url>&user=<WP user id>&ts=<unix>&nonce=<hex>&sig=<hex>

where sig is the hex HMAC-SHA256, keyed with the shop's launch secret
(`auth.woocommerce_launch_secret`), of "store|user|ts|nonce" exactly as sent. A good link sets
the launch session cookie and redirects to /admin without the query (the signature stays out of
the history and of Referer headers). Refused: a bad signature, an unknown or disconnected store,
a link older than 5 minutes or from the future (30 s of clock skew allowed), a nonce already used.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from datetime import timedelta

from flask import Response, current_app, redirect, request
from sqlalchemy import delete

from plugin.admin.auth import find_shop_by_domain, new_launch_session, set_session_cookie, woocommerce_launch_secret
from plugin.admin.i18n import request_locale
from plugin.db.models import LaunchNonce, utcnow

log = logging.getLogger(__name__)

LAUNCH_PATH = "/admin/launch/woocommerce"
MAX_AGE = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_USER = re.compile(r"^[0-9A-Za-z_.@-]{1,64}$")


class LaunchRefused(Exception):
    def __init__(self, reason: str, status: int = 403):
        super().__init__(reason)
        self.reason = reason  # invalid | expired
        self.status = status


def launch_woocommerce() -> Response:
    runtime = current_app.extensions["backorder_desk"]
    try:
        shop, user = verify_launch(runtime, request.args)
    except LaunchRefused as refused:
        from plugin.admin.layout import message_page

        log.info("woocommerce launch link refused", extra={"reason": refused.reason})
        key = "launch.expired" if refused.reason == "expired" else "launch.invalid"
        return message_page(key, refused.status, locale=request_locale(request))
    response = redirect("/admin", code=303)
    set_session_cookie(response, new_launch_session(shop, user))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    log.info("woocommerce merchant launched the admin", extra={"shop": shop.domain})
    return response


def verify_launch(runtime, args, *, now: float | None = None):
    """(shop, user) of a good launch link; LaunchRefused otherwise. Consumes the nonce."""
    store, user, ts, nonce, sig = (args.get(name, "") for name in ("store", "user", "ts", "nonce", "sig"))
    if not all((store, user, ts, nonce, sig)):
        raise LaunchRefused("invalid", 400)
    if not (ts.isdigit() and _NONCE.match(nonce) and _USER.match(user) and re.fullmatch(r"[0-9a-fA-F]{64}", sig)):
        raise LaunchRefused("invalid", 400)
    shop = find_shop_by_domain(runtime.db, "woocommerce", _candidate_domains(store))
    if shop is None or not shop.is_installed:
        raise LaunchRefused("invalid")
    secret = woocommerce_launch_secret(runtime, shop)
    expected = hmac.new(secret.encode("utf-8"), "|".join((store, user, ts, nonce)).encode("utf-8"),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        raise LaunchRefused("invalid")
    now = time.time() if now is None else now
    age = now - int(ts)
    if age > MAX_AGE.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        raise LaunchRefused("expired")
    if not _consume_nonce(runtime, shop.id, nonce):
        raise LaunchRefused("expired")
    return shop, user


def _candidate_domains(store: str) -> list[str]:
    """The shop domains a store URL may have been connected as: as given, with and without www.

    Normalised as the connect flow normalised it (scheme, case, trailing slash, a pasted
    /wp-admin), by the WooCommerce connector's own function when it is there."""
    domain = _store_domain(store)
    other = domain[4:] if domain.startswith("www.") else f"www.{domain}"
    return [domain, other]


def _store_domain(store: str) -> str:
    try:
        from connectors.woocommerce.store_url import InvalidStoreUrl, normalize_store_url
    except ImportError:  # pragma: no cover - a tree without the WooCommerce connector's module
        return _plain_store_domain(store)
    try:
        return normalize_store_url(store, allow_http=True)[1]
    except InvalidStoreUrl:
        raise LaunchRefused("invalid", 400) from None


def _plain_store_domain(store: str) -> str:
    """host[:port]/path, lower case, without scheme, trailing slash or WordPress admin tail."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(store.strip() if "://" in store else "https://" + store.strip())
        port = parts.port
    except ValueError:
        raise LaunchRefused("invalid", 400) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise LaunchRefused("invalid", 400)
    path = parts.path.rstrip("/").lower()
    for tail in ("/wp-admin", "/wp-login.php", "/wp-json", "/index.php"):
        if tail in path:
            path = path[:path.index(tail)]
    default = 443 if parts.scheme.lower() == "https" else 80
    netloc = parts.hostname.rstrip(".").lower() + (f":{port}" if port and port != default else "")
    return f"{netloc}{path.rstrip('/')}"


def _consume_nonce(runtime, shop_id: int, nonce: str) -> bool:
    """True the first time this shop's nonce is seen; rows past the replay window are pruned."""
    db = runtime.db
    now = utcnow()
    with db.shop_session(shop_id) as session:
        session.execute(delete(LaunchNonce).where(LaunchNonce.used_at < now - MAX_AGE - CLOCK_SKEW - MAX_AGE)
                        .execution_options(synchronize_session=False))
        if db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        inserted = session.execute(insert(LaunchNonce).values(shop_id=shop_id, nonce=nonce, used_at=now)
                                   .on_conflict_do_nothing(index_elements=["shop_id", "nonce"])
                                   .returning(LaunchNonce.id)).scalar_one_or_none()
        return inserted is not None
