"""Offline tokens: refresh before expiry under a lock, forced refresh on 401, revocation, no leaks."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from connectors.base import ConnectorError
from connectors.shopify import operations as ops
from connectors.shopify.graphql import ShopifyAuthError, ShopifyGraphQL
from connectors.shopify.http import shopify_http_client
from connectors.shopify.manifest import api_version
from connectors.shopify.throttle import BucketModel
from connectors.shopify.tokens import REFRESH_MARGIN, ShopifyTokens, needs_token_exchange
from tests.shopify_helpers import (  # noqa: F401  (fixtures)
    SHOP,
    TOKEN_PATH,
    open_app_home,
    recorder,
    set_shop,
    store,
    stored_shop,
)


@pytest.fixture
def installed(runtime, fake_shopify, store):
    """A shop installed by token exchange, with its expiring token and refresh token."""
    shop = ShopifyTokens(runtime).install_with_session_token(SHOP, fake_shopify.session_token(SHOP))
    assert shop.refresh_token and shop.access_token_expires_at
    return shop


def _soon() -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=90)


def _graphql(runtime, http, shop_id, tokens: ShopifyTokens) -> ShopifyGraphQL:
    return ShopifyGraphQL(http, SHOP, api_version(), lambda force: tokens.access_token(shop_id, force_refresh=force),
                          BucketModel(), max_attempts=2, sleep=lambda _s: None)


def test_a_fresh_token_is_handed_out_without_calling_shopify(runtime, installed, recorder):
    assert ShopifyTokens(runtime).access_token(installed.id) == installed.access_token
    assert recorder.token_calls() == []


def test_a_token_near_expiry_is_refreshed_and_both_tokens_rotate(runtime, installed, recorder):
    set_shop(runtime, access_token_expires_at=_soon())

    token = ShopifyTokens(runtime).access_token(installed.id)

    [call] = recorder.token_calls("refresh_token")
    assert call["refresh_token"] == installed.refresh_token
    shop = stored_shop(runtime)
    assert token == shop.access_token != installed.access_token
    assert shop.refresh_token and shop.refresh_token != installed.refresh_token
    assert shop.access_token_expires_at > datetime.now(timezone.utc) + REFRESH_MARGIN
    # The new token works; asking again does not refresh again.
    with shopify_http_client(runtime) as http:
        assert _graphql(runtime, http, installed.id, ShopifyTokens(runtime)).execute(ops.SHOP_INFO)["shop"]["name"]
    assert len(recorder.token_calls("refresh_token")) == 1


def test_concurrent_callers_of_an_expiring_shop_cause_one_refresh(runtime, installed, recorder, monkeypatch):
    set_shop(runtime, access_token_expires_at=_soon())
    callers = 4
    # Hold every caller at the door of the refresh until all of them have seen the token as due,
    # so only the lock and the re-check under it can keep them from refreshing four times.
    all_saw_it_due = threading.Barrier(callers, timeout=10)
    refresh = ShopifyTokens._refresh

    def refresh_together(self, *args, **kwargs):
        all_saw_it_due.wait()
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(ShopifyTokens, "_refresh", refresh_together)
    results: list[str] = []
    errors: list[BaseException] = []

    def ask():
        try:  # one ShopifyTokens per thread, as separate workers would have, sharing only the database
            results.append(ShopifyTokens(runtime).access_token(installed.id))
        except BaseException as exc:  # surfaced below with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert not errors, errors
    assert len(recorder.token_calls("refresh_token")) == 1
    assert len(results) == callers and len(set(results)) == 1
    assert results[0] == stored_shop(runtime).access_token != installed.access_token


def test_a_401_forces_one_refresh_and_the_call_succeeds(runtime, installed, recorder):
    # Shopify no longer accepts the stored token although it has not expired on our clock.
    set_shop(runtime, access_token="shpat_no_longer_valid")
    tokens = ShopifyTokens(runtime)

    with shopify_http_client(runtime) as http:
        data = _graphql(runtime, http, installed.id, tokens).execute(ops.SHOP_INFO)

    assert data["shop"]["name"]
    assert len(recorder.token_calls("refresh_token")) == 1
    assert stored_shop(runtime).access_token not in ("shpat_no_longer_valid", installed.access_token)


def test_a_revoked_refresh_token_clears_the_tokens_and_raises(client, runtime, fake_shopify, installed, recorder):
    set_shop(runtime, refresh_token="shprt_revoked_by_shopify", access_token_expires_at=_soon())

    with pytest.raises(ShopifyAuthError):
        ShopifyTokens(runtime).access_token(installed.id)

    shop = stored_shop(runtime)
    assert shop.status == "installed"
    assert (shop.access_token, shop.refresh_token, shop.access_token_expires_at) == (None, None, None)
    assert needs_token_exchange(shop, datetime.now(timezone.utc))
    with pytest.raises(ShopifyAuthError):
        ShopifyTokens(runtime).access_token(installed.id)
    assert len(recorder.token_calls("refresh_token")) == 1
    # The merchant opens the app: the embedded request re-exchanges and the shop works again.
    assert open_app_home(client, fake_shopify).status_code == 200
    assert ShopifyTokens(runtime).access_token(installed.id) == stored_shop(runtime).access_token


def test_an_expired_refresh_token_is_not_even_sent(runtime, installed, recorder):
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    set_shop(runtime, access_token_expires_at=past, refresh_token_expires_at=past)

    with pytest.raises(ShopifyAuthError):
        ShopifyTokens(runtime).access_token(installed.id)

    assert recorder.token_calls() == []
    assert stored_shop(runtime).access_token is None


def test_a_refresh_outage_keeps_a_still_valid_token_but_fails_a_forced_refresh(runtime, installed, recorder):
    set_shop(runtime, access_token_expires_at=_soon())
    inner = recorder.inner

    def unavailable(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(503, json={"errors": "unavailable"})
        return inner.handle_request(request)

    recorder.inner = httpx.MockTransport(unavailable)
    tokens = ShopifyTokens(runtime)

    assert tokens.access_token(installed.id) == installed.access_token
    with pytest.raises(ConnectorError) as failed:
        tokens.access_token(installed.id, force_refresh=True)
    assert failed.value.retryable and not isinstance(failed.value, ShopifyAuthError)
    assert stored_shop(runtime).refresh_token == installed.refresh_token


def test_tokens_never_reach_the_logs(runtime, installed, recorder, caplog):
    set_shop(runtime, access_token_expires_at=_soon())
    caplog.set_level(logging.DEBUG)

    refreshed = ShopifyTokens(runtime).access_token(installed.id)
    rotated = stored_shop(runtime).refresh_token
    set_shop(runtime, refresh_token="shprt_revoked_by_shopify", access_token_expires_at=_soon())
    with pytest.raises(ShopifyAuthError) as revoked:
        ShopifyTokens(runtime).access_token(installed.id)

    secrets_seen = {installed.access_token, installed.refresh_token, refreshed, rotated, "shprt_revoked_by_shopify"}
    logged = caplog.text + " ".join(repr(vars(r)) for r in caplog.records) + str(revoked.value)
    assert caplog.records, "expected the refresh to be logged"
    for secret in secrets_seen:
        assert secret not in logged
