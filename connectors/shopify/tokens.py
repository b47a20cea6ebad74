"""Offline access tokens of Shopify shops: obtain (token exchange), keep fresh (refresh), give out.

Shopify's expiring offline tokens live about an hour and come with a refresh token; every refresh
rotates both, and the old refresh token stops working. Two workers refreshing the same shop at
once would therefore lock one of them out, so a refresh happens under the shop's row lock and the
expiry is checked again once the lock is held (as Shopify's Ruby shopify_app does). Token values
never appear in logs or exception messages.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from shopify import ApiAccess
from shopify.api_access import ApiAccessError
from shopify_app import IdTokenDetails, Res, ShopifyApp, TokenExchangeAccessToken

from connectors.base import ConnectorError
from connectors.shopify.graphql import ShopifyAuthError
from connectors.shopify.http import shopify_http_client
from connectors.shopify.manifest import shopify_manifest
from connectors.shopify.shop_domain import InvalidShopDomain, normalize_shop_domain, shop_name
from plugin.db.models import Shop, utcnow
from plugin.shops.services import clear_credentials

log = logging.getLogger(__name__)

# Refresh this long before expiry, so a token handed out is still good for the calls that follow.
REFRESH_MARGIN = timedelta(minutes=5)
# shopify_app's log codes meaning "this refresh token will never work again".
_REVOKED = {"invalid_grant", "refresh_token_expired"}


class ShopifyNotConfigured(ConnectorError):
    def __init__(self):
        super().__init__("SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set", retryable=False)


class TokenExchangeFailed(ConnectorError):
    """Shopify (or the session token check) refused; `response` is what shopify_app says to answer."""

    def __init__(self, code: str, response: Res | None = None):
        super().__init__(f"Shopify token exchange failed: {code}", retryable=False)
        self.code = code
        self.response = response or Res(status=401, body="Unauthorized", headers={})


@dataclass(frozen=True)
class TokenGrant:
    """Credentials as Shopify issued them, ready to be stored on the Shop row."""

    access_token: str
    access_token_expires_at: datetime | None
    refresh_token: str | None
    refresh_token_expires_at: datetime | None
    scopes: str | None

    @classmethod
    def from_shopify_app(cls, token: TokenExchangeAccessToken) -> "TokenGrant":
        return cls(
            access_token=token.token,
            access_token_expires_at=_parse_time(token.expires),
            refresh_token=token.refresh_token or None,
            refresh_token_expires_at=_parse_time(token.refresh_token_expires),
            scopes=token.scope or None,
        )

    @classmethod
    def from_token_response(cls, payload: dict, now: datetime) -> "TokenGrant":
        """From the JSON of POST /admin/oauth/access_token (authorization-code grant)."""
        expires_in, refresh_in = payload.get("expires_in"), payload.get("refresh_token_expires_in")
        return cls(
            access_token=payload["access_token"],
            access_token_expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
            refresh_token=payload.get("refresh_token") or None,
            refresh_token_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
            scopes=payload.get("scope") or None,
        )


def shopify_app(settings) -> ShopifyApp:
    """shopify_app's verifier/exchanger for this app's credentials (old secret kept during rotation)."""
    if not (settings.shopify_api_key and settings.shopify_api_secret):
        raise ShopifyNotConfigured()
    return ShopifyApp(settings.shopify_api_key, settings.shopify_api_secret,
                      settings.shopify_api_secret_old or None)


def required_scopes() -> list[str]:
    return list(shopify_manifest()["access_scopes"])


def needs_token_exchange(shop: Shop | None, now: datetime) -> bool:
    """True when the merchant's next visit must obtain a new offline token for this shop.

    Unknown, uninstalled, credentials dropped (revoked), a refresh token that has run out, or scopes
    short of the manifest's (after a scope change the merchant approved in Shopify's admin).
    """
    if shop is None or not shop.is_installed or not shop.access_token:
        return True
    if shop.refresh_token_expires_at is not None and shop.refresh_token_expires_at <= now:
        return True
    if shop.access_token_expires_at is not None and shop.access_token_expires_at <= now and not shop.refresh_token:
        return True
    try:
        return not ApiAccess(shop.scopes or "").covers(ApiAccess(required_scopes()))
    except ApiAccessError:
        return True


class ShopifyTokens:
    """Hands out a shop's current offline token, refreshing it when due; safe across threads and processes."""

    def __init__(self, runtime, *, clock: Callable[[], datetime] = utcnow):
        self.runtime = runtime
        self.clock = clock

    # -- giving out tokens ------------------------------------------------------------------
    def access_token(self, shop_id: int, *, force_refresh: bool = False) -> str:
        """The shop's access token. `force_refresh`: Shopify just answered 401 to the current one."""
        with self.runtime.db.session() as session:
            shop = session.get(Shop, shop_id)
            _require_credentials(shop, shop_id)
            seen = shop.access_token
            due = self._due(shop)
        if not (force_refresh or due):
            return seen
        return self._refresh(shop_id, seen=seen, forced=force_refresh)

    def _due(self, shop: Shop) -> bool:
        expires = shop.access_token_expires_at
        return expires is not None and expires - self.clock() <= REFRESH_MARGIN

    def _refresh(self, shop_id: int, *, seen: str, forced: bool) -> str:
        revoked = False
        with self.runtime.db.session() as session:
            # FOR UPDATE on PostgreSQL; on SQLite the session's BEGIN IMMEDIATE already holds the
            # database's single write lock. Either way a second refresher waits here.
            shop = session.get(Shop, shop_id, with_for_update=True, populate_existing=True)
            _require_credentials(shop, shop_id)
            # Re-check under the lock: another thread or process may have refreshed meanwhile.
            if shop.access_token != seen or not (forced or self._due(shop)):
                return shop.access_token
            if not shop.refresh_token:
                # A non-expiring token cannot be refreshed; only the merchant can fix a rejected one.
                raise ShopifyAuthError(f"Shopify rejected the access token of {shop.domain}; open the app in Shopify admin")
            result = self._call_refresh(shop)
            if result.ok and result.access_token is not None:
                grant = TokenGrant.from_shopify_app(result.access_token)
                shop.access_token = grant.access_token
                shop.access_token_expires_at = grant.access_token_expires_at
                shop.refresh_token = grant.refresh_token
                shop.refresh_token_expires_at = grant.refresh_token_expires_at
                if grant.scopes:
                    shop.scopes = grant.scopes
                log.info("shopify token refreshed", extra={"shop": shop.domain, "forced": forced})
                return grant.access_token
            code = result.log.code
            domain = shop.domain
            still_valid = shop.access_token_expires_at is not None and shop.access_token_expires_at > self.clock()
            if code in _REVOKED:
                # Committed below: the shop now needs the merchant to open the app (token exchange).
                clear_credentials(shop)
                revoked = True
        if revoked:
            log.warning("shopify refresh token revoked; shop needs re-authorization", extra={"shop": domain, "code": code})
            raise ShopifyAuthError(f"Shopify revoked the refresh token of {domain}; the merchant must open the app again")
        log.warning("shopify token refresh failed", extra={"shop": domain, "code": code, "forced": forced})
        if still_valid and not forced:
            return seen  # refreshed early; the current token still works, try again on the next call
        raise ConnectorError(f"Shopify token refresh for {domain} failed ({code})", retryable=True)

    def _call_refresh(self, shop: Shop):
        app = shopify_app(self.runtime.settings)
        current = TokenExchangeAccessToken(
            shop=shop_name(shop.domain),
            token="",  # not sent: a refresh only needs the refresh token
            # Empty: our own REFRESH_MARGIN decided this is due; shopify_app would otherwise skip
            # any token valid for more than another minute.
            expires="",
            scope=shop.scopes or "",
            access_mode="offline",
            refresh_token=shop.refresh_token,
            refresh_token_expires=_format_time(shop.refresh_token_expires_at),
            user=None,
        )
        with shopify_http_client(self.runtime) as http:
            return app.refresh_token_exchanged_access_token(current, http_client=http)

    # -- obtaining tokens -------------------------------------------------------------------
    def token_exchange(self, shop_domain: str, id_token: IdTokenDetails | str, *,
                       invalid_token_response: Res | None = None) -> TokenGrant:
        """Exchange a session token (App Bridge's id_token) for an expiring offline token + refresh token.

        `id_token` is either verified details from `verify_app_home_req` or a raw JWT, verified here.
        """
        app = shopify_app(self.runtime.settings)
        if isinstance(id_token, str):
            id_token = self.verify_session_token(id_token)
        domain = normalize_shop_domain(shop_domain)
        if token_shop_domain(id_token) != domain:
            raise TokenExchangeFailed("session_token_for_other_shop", invalid_token_response)
        with shopify_http_client(self.runtime) as http:
            result = app.exchange_using_token_exchange(
                access_mode="offline", id_token=id_token, invalid_token_response=invalid_token_response,
                expiring=True, http_client=http,
            )
        if not result.ok or result.access_token is None:
            log.warning("shopify token exchange failed", extra={"shop": domain, "code": result.log.code})
            raise TokenExchangeFailed(result.log.code, result.response)
        return TokenGrant.from_shopify_app(result.access_token)

    def verify_session_token(self, token: str) -> IdTokenDetails:
        """Check a raw session token as if App Bridge had sent it to us (signature, expiry, audience)."""
        app = shopify_app(self.runtime.settings)
        result = app.verify_app_home_req({
            "method": "GET", "headers": {"authorization": f"Bearer {token}"},
            "url": self.runtime.settings.public_url + "/admin", "body": "",
        }, app_home_patch_id_token_path="/auth/shopify/session-token")
        if not result.ok or result.id_token is None:
            raise TokenExchangeFailed(result.log.code, result.response)
        token_shop_domain(result.id_token)  # issuer and destination must be the same shop
        return result.id_token

    def install_with_session_token(self, shop_domain: str, session_token: str) -> Shop:
        """Managed install without a browser (dev store, tests): exchange, then record the shop."""
        from connectors.shopify.lifecycle import complete_install

        grant = self.token_exchange(shop_domain, session_token)
        return complete_install(self.runtime, normalize_shop_domain(shop_domain), grant)


def token_shop_domain(id_token: IdTokenDetails) -> str:
    """The shop a verified session token speaks for; its `iss` must name the same shop as `dest`.

    shopify_app checks signature, expiry and audience but not this; Shopify's docs ask apps to.
    """
    claims = id_token.claims
    try:
        dest = normalize_shop_domain(claims.get("dest"))
        issuer = normalize_shop_domain(claims.get("iss"))
    except InvalidShopDomain:
        raise TokenExchangeFailed("invalid_dest") from None
    if dest != issuer:
        raise TokenExchangeFailed("issuer_dest_mismatch")
    return dest


def _require_credentials(shop: Shop | None, shop_id: int) -> None:
    if shop is None:
        raise ShopifyAuthError(f"shop {shop_id} does not exist")
    if not shop.is_installed or not shop.access_token:
        raise ShopifyAuthError(f"{shop.domain} has no Shopify access token; the merchant must open the app")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _format_time(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
