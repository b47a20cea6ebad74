"""plugin.shops.services: install (upsert), uninstall, find; credentials encrypted at rest."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text

from plugin.crypto import current_vault
from plugin.db.models import Shop, Supplier
from plugin.shops.services import find_shop, install_shop, uninstall_shop

DOMAIN = "services-test.myshopify.com"


def _install(db, **overrides):
    now = datetime.now(timezone.utc)
    values = dict(
        platform="shopify", domain=DOMAIN, name="Services Test",
        access_token="shpat_first", access_token_expires_at=now + timedelta(hours=1),
        refresh_token="shprt_first", refresh_token_expires_at=now + timedelta(days=30),
        scopes="read_orders,write_orders",
    )
    values.update(overrides)
    return install_shop(db, **values)


def test_install_stores_the_shop_with_encrypted_credentials(runtime):
    shop = _install(runtime.db)

    found = find_shop(runtime.db, "shopify", DOMAIN)
    assert found is not None and found.id == shop.id
    assert (found.status, found.name, found.access_token, found.refresh_token) == (
        "installed", "Services Test", "shpat_first", "shprt_first")
    assert found.installed_at is not None and found.uninstalled_at is None
    with runtime.db.session() as session:
        raw_access, raw_refresh = session.execute(
            text("SELECT access_token, refresh_token FROM shops WHERE id = :id"), {"id": shop.id}).one()
    assert "shpat_first" not in raw_access and "shprt_first" not in raw_refresh
    assert current_vault().decrypt(raw_access) == "shpat_first"
    assert find_shop(runtime.db, "shopify", "other.myshopify.com") is None
    assert find_shop(runtime.db, "woocommerce", DOMAIN) is None


def test_install_again_updates_the_same_row(runtime):
    first = _install(runtime.db)
    second = _install(runtime.db, access_token="shpat_second", refresh_token=None,
                      access_token_expires_at=None, refresh_token_expires_at=None, name=None)

    assert second.id == first.id
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 1
        shop = session.get(Shop, first.id)
        assert (shop.access_token, shop.refresh_token, shop.access_token_expires_at) == ("shpat_second", None, None)
        assert shop.name == "Services Test"  # an unknown name does not erase the known one
        assert shop.installed_at == first.installed_at  # still the same install


def test_uninstall_forgets_credentials_keeps_business_rows_and_is_idempotent(runtime):
    shop = _install(runtime.db)
    with runtime.db.shop_session(shop.id) as session:
        session.add(Supplier(name="Acme"))

    gone = uninstall_shop(runtime.db, "shopify", DOMAIN)
    assert gone.status == "uninstalled" and gone.uninstalled_at is not None
    again = uninstall_shop(runtime.db, "shopify", DOMAIN)
    assert again.uninstalled_at == gone.uninstalled_at  # the second call changed nothing

    with runtime.db.session() as session:
        row = session.get(Shop, shop.id)
        assert (row.access_token, row.refresh_token, row.access_token_expires_at, row.refresh_token_expires_at) == (
            None, None, None, None)
        assert session.scalar(select(func.count()).select_from(Supplier)) == 1
    assert uninstall_shop(runtime.db, "shopify", "unknown.myshopify.com") is None


def test_reinstall_after_uninstall_revives_the_shop(runtime):
    first = _install(runtime.db)
    uninstall_shop(runtime.db, "shopify", DOMAIN)

    again = _install(runtime.db, access_token="shpat_again")

    assert again.id == first.id
    shop = find_shop(runtime.db, "shopify", DOMAIN)
    assert (shop.status, shop.uninstalled_at, shop.access_token) == ("installed", None, "shpat_again")
    assert shop.installed_at > first.installed_at


def test_uninstall_older_than_the_current_install_is_ignored(runtime):
    shop = _install(runtime.db)

    stale = uninstall_shop(runtime.db, "shopify", DOMAIN, occurred_at=shop.installed_at - timedelta(seconds=5))
    assert stale.status == "installed"
    fresh = uninstall_shop(runtime.db, "shopify", DOMAIN, occurred_at=shop.installed_at + timedelta(seconds=5))
    assert fresh.status == "uninstalled"

