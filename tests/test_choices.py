"""The customer's keep-or-refund choice: signed links, the confirm pages, keeping, refunding."""
from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from plugin.choices.links import LinkRejected, choice_links, make_token, read_token
from plugin.config import load_settings

SHOP = "oak-and-linen.myshopify.com"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


# -- links (no database) -----------------------------------------------------------------------
@pytest.fixture
def bare_runtime(tmp_path):
    return SimpleNamespace(settings=load_settings(secret_key="links-secret", app_url="https://app.example.test",
                                                  instance_path=tmp_path / "instance"))


def test_links_round_trip_and_point_at_the_storefront_proxy(bare_runtime):
    shop = SimpleNamespace(id=3, platform="shopify", domain=SHOP, settings={})
    links = choice_links(bare_runtime, shop, 7, 2)
    assert set(links) == {"keep", "refund"}
    for choice, url in links.items():
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", SHOP, "/apps/backorders/choice")
        claims = read_token(bare_runtime, token_of(url))
        assert (claims.shop_id, claims.backorder_id, claims.promise_version, claims.choice) == (3, 7, 2, choice)
        assert claims.expires_at == pytest.approx(time.time() + 14 * 86400, abs=5)
    assert read_token(bare_runtime, token_of(links["keep"])).jti != read_token(bare_runtime, token_of(links["refund"])).jti


def test_links_elsewhere_are_the_apps_own_and_expire_as_the_shop_says(bare_runtime):
    shop = SimpleNamespace(id=4, platform="woocommerce", domain="shop.example", settings={"refund_link_expiry_days": 3})
    url = choice_links(bare_runtime, shop, 1, 1)["refund"]
    assert url.startswith("https://app.example.test/choice?t=")
    assert read_token(bare_runtime, token_of(url)).expires_at == pytest.approx(time.time() + 3 * 86400, abs=5)
    # A malformed setting is the default, never an error.
    for bad in ("soon", None, -1, {"x": 1}):
        shop.settings = {"refund_link_expiry_days": bad}
        assert read_token(bare_runtime, token_of(choice_links(bare_runtime, shop, 1, 1)["keep"])).expires_at == \
            pytest.approx(time.time() + 14 * 86400, abs=5)


def test_tampered_foreign_and_expired_tokens_are_rejected(bare_runtime, tmp_path):
    token = make_token(bare_runtime, 3, 7, 2, "refund", expires_in_days=14)
    head, _, sig = token.rpartition(".")
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), head + "." + sig[::-1], "", "garbage", "a" * 2000):
        with pytest.raises(LinkRejected) as rejected:
            read_token(bare_runtime, bad)
        assert rejected.value.reason == "invalid"
    other_app = SimpleNamespace(settings=load_settings(secret_key="another-secret", instance_path=tmp_path / "other"))
    with pytest.raises(LinkRejected, match="invalid"):
        read_token(other_app, token)
    with pytest.raises(LinkRejected) as rejected:
        read_token(bare_runtime, token, now=time.time() + 15 * 86400)
    assert rejected.value.reason == "expired"
