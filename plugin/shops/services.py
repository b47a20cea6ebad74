"""Use cases of a shop's life, one transaction each, platform-neutral.

Connectors obtain the credentials (OAuth, token exchange, WooCommerce keys); these functions only
record them. Credentials are encrypted by the column type (plugin.db.types.EncryptedText).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.db import Database
from plugin.db.models import Shop, utcnow


def find_shop(db: Database, platform: str, domain: str) -> Shop | None:
    with db.session() as session:
        return _shop_row(session, platform, domain)


def install_shop(
    db: Database,
    *,
    platform: str,
    domain: str,
    name: str | None,
    access_token: str,
    access_token_expires_at: datetime | None,
    refresh_token: str | None,
    refresh_token_expires_at: datetime | None,
    scopes: str | None,
    store_url: str | None = None,
    api_secret: str | None = None,
    webhook_secret: str | None = None,
) -> Shop:
    """Create or update the shop with fresh credentials; a reinstall revives an uninstalled shop.

    Business rows (orders, backorders, settings) of an earlier install are kept: a merchant who
    uninstalls by mistake and comes back finds everything where it was. WooCommerce also gives
    its store URL, consumer secret and webhook secret, written in the same transaction.
    """
    now = utcnow()
    credentials = dict(
        status="installed",
        uninstalled_at=None,
        access_token=access_token,
        access_token_expires_at=access_token_expires_at,
        refresh_token=refresh_token,
        refresh_token_expires_at=refresh_token_expires_at,
        scopes=scopes,
    )
    extra = dict(store_url=store_url, api_secret=api_secret, webhook_secret=webhook_secret)
    credentials.update({key: value for key, value in extra.items() if value is not None})
    for attempt in range(2):
        try:
            with db.session() as session:
                shop = _shop_row(session, platform, domain, lock=True)
                if shop is None:
                    shop = Shop(platform=platform, domain=domain, settings={}, installed_at=now)
                    session.add(shop)
                elif not shop.is_installed or shop.installed_at is None:
                    shop.installed_at = now
                for key, value in credentials.items():
                    setattr(shop, key, value)
                if name:  # keep the known name when the platform could not tell us this time
                    shop.name = name
            return shop
        except IntegrityError:
            # Two installs of a new shop raced (PostgreSQL); the loser updates the winner's row.
            if attempt:
                raise
    raise AssertionError("unreachable")


def uninstall_shop(db: Database, platform: str, domain: str, *, occurred_at: datetime | None = None) -> Shop | None:
    """Mark the shop uninstalled and forget its credentials; its business rows stay.

    Idempotent: a second call changes nothing. `occurred_at` protects a reinstall from a late
    uninstall event: an event older than the current install is ignored.
    """
    with db.session() as session:
        shop = _shop_row(session, platform, domain, lock=True)
        if shop is None or not shop.is_installed:
            return shop
        if occurred_at is not None and shop.installed_at is not None and occurred_at < shop.installed_at:
            return shop
        shop.status = "uninstalled"
        shop.uninstalled_at = utcnow()
        clear_credentials(shop)
        return shop


def clear_credentials(shop: Shop) -> None:
    """Drop a shop's credentials on a row the caller holds (locked) in its own transaction."""
    shop.access_token = None
    shop.access_token_expires_at = None
    shop.refresh_token = None
    shop.refresh_token_expires_at = None
    shop.api_secret = None
    shop.webhook_secret = None


def _shop_row(session: Session, platform: str, domain: str, *, lock: bool = False) -> Shop | None:
    stmt = select(Shop).where(Shop.platform == platform, Shop.domain == domain)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()
