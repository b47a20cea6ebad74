"""Fixtures for the WooCommerce connector's tests: a fake store wired to the app both ways.

The app reaches the store through the dev store's requests adapter (runtime.extras), the store
reaches the app (webhooks, pings, the /wc-auth key callback) through the Flask test client.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from connectors.woocommerce.devstore import FakeWooCommerce
from connectors.woocommerce.transport import ADAPTER_KEY
from plugin.db.models import Shop, WebhookEvent

SITE = "https://shop.example.test"
DOMAIN = "shop.example.test"


@pytest.fixture
def wc_fake():
    return FakeWooCommerce(SITE)


@pytest.fixture
def wc_runtime(runtime, wc_fake):
    runtime.extras[ADAPTER_KEY] = wc_fake.requests_adapter()
    runtime.extras["woocommerce_client_options"] = {"sleep": lambda seconds: None}
    return runtime


@pytest.fixture
def wc_app(app, wc_runtime, wc_fake):
    deliverer = app.test_client()

    def deliver(url: str, headers: dict, body: bytes) -> int:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return deliverer.post(path, data=body, headers=headers).status_code

    wc_fake.deliver = deliver
    return app


@pytest.fixture
def wc_client(wc_app):
    return wc_app.test_client()


def connect(client, fake, site: str = SITE):
    """The whole dance as a merchant walks it; returns the return page's response."""
    started = client.post("/connect/woocommerce", data={"store_url": site})
    assert started.status_code == 302, started.get_data(as_text=True)
    back = fake.approve(started.headers["Location"])
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def shop_row(runtime, domain: str = DOMAIN) -> Shop | None:
    with runtime.db.session() as session:
        shop = session.scalar(select(Shop).where(Shop.platform == "woocommerce", Shop.domain == domain))
        if shop is not None:
            session.expunge(shop)
        return shop


def inbox_count(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


def drain(runtime) -> int:
    from webhooks.worker import InboxWorker

    worker = InboxWorker(runtime, name="test-worker", jitter=0)
    total = 0
    while (done := worker.run_once()):
        total += done
    return total
