"""Helpers for the Shopify install/token tests: watch the wire, open the app home, sign like Shopify."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlencode

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from plugin.db.models import Shop

SHOP = "backorder-test.myshopify.com"
TOKEN_PATH = "/admin/oauth/access_token"


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on to the fake store and remembers them (thread-safe), to count token calls."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.requests: list[tuple[str, str, dict]] = []  # (host, path, parsed body)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((request.url.host, request.url.path, _parse_body(request)))
        return self.inner.handle_request(request)

    def token_calls(self, grant_type: str | None = None) -> list[dict]:
        with self._lock:
            bodies = [body for _host, path, body in self.requests if path == TOKEN_PATH]
        if grant_type is None:
            return bodies
        return [b for b in bodies if b.get("grant_type", "authorization_code") == grant_type]


def _parse_body(request: httpx.Request) -> dict:
    raw = request.read()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
    except ValueError:
        return dict(parse_qsl(raw.decode()))


@pytest.fixture
def recorder(runtime) -> RecordingTransport:
    """Every Shopify call of this runtime, from here on."""
    runtime.shopify_transport = RecordingTransport(runtime.shopify_transport)
    return runtime.shopify_transport


@pytest.fixture
def store(fake_shopify) -> str:
    fake_shopify.create_shop(SHOP)
    return SHOP


def app_home_query(domain: str, id_token: str | None) -> str:
    """The query Shopify admin puts on the application_url when it frames the app."""
    name = domain.split(".")[0]
    params = {
        "embedded": "1",
        "host": base64.urlsafe_b64encode(f"admin.shopify.com/store/{name}".encode()).decode().rstrip("="),
        "shop": domain,
        "timestamp": str(int(time.time())),
    }
    if id_token is not None:
        params["id_token"] = id_token
    return urlencode(params)


def open_app_home(client, fake_shopify, domain: str = SHOP, **token_kwargs):
    return client.get("/admin?" + app_home_query(domain, fake_shopify.session_token(domain, **token_kwargs)))


def session_token_claims(domain: str, api_key: str, *, iss_domain: str | None = None, exp_in: int = 60) -> dict:
    now = int(time.time())
    return {
        "iss": f"https://{iss_domain or domain}/admin",
        "dest": f"https://{domain}",
        "aud": api_key,
        "sub": "1",
        "exp": now + exp_in,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }


def forge_session_token(domain: str, api_key: str, secret: str, **claims_kwargs) -> str:
    return jwt.encode(session_token_claims(domain, api_key, **claims_kwargs), secret, algorithm="HS256")


def sign_query(params: dict, secret: str) -> str:
    """Shopify's OAuth hmac: hex HMAC-SHA256 of the sorted `k=v` pairs (without hmac), joined by &."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def stored_shop(runtime, domain: str = SHOP) -> Shop | None:
    with runtime.db.session() as session:
        return session.execute(select(Shop).where(Shop.platform == "shopify", Shop.domain == domain)).scalar_one_or_none()


def set_shop(runtime, domain: str = SHOP, **values) -> None:
    with runtime.db.session() as session:
        session.execute(update(Shop).where(Shop.platform == "shopify", Shop.domain == domain).values(**values))
