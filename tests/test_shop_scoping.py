"""Every shop-owned query is scoped to its shop: one shop can never read or write another's rows."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select, text, update

from plugin.db import CrossShopWrite
from plugin.db.models import Backorder, Order, OrderLine, Shop, Variant

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def _shop_with_backorder(runtime, domain: str) -> int:
    with runtime.db.session() as s:
        shop = Shop(platform="shopify", domain=domain, access_token="shpat_secret_" + domain)
        s.add(shop)
        s.flush()
        variant = Variant(shop_id=shop.id, platform_variant_id="1", sku="SKU")
        order = Order(shop_id=shop.id, platform_order_id="100", placed_at=NOW)
        line = OrderLine(shop_id=shop.id, platform_line_id="1", quantity=2, open_quantity=2, variant=variant)
        order.lines.append(line)
        s.add_all([variant, order])
        s.flush()
        s.add(Backorder(shop_id=shop.id, order_line_id=line.id, variant_id=variant.id, quantity=1,
                        promised_eta=date(2026, 12, 9), current_eta=date(2026, 12, 9), ordered_at=NOW))
        return shop.id


def test_a_shop_session_sees_only_its_own_rows(runtime):
    a = _shop_with_backorder(runtime, "a.myshopify.com")
    b = _shop_with_backorder(runtime, "b.myshopify.com")
    with runtime.db.shop_session(a) as s:
        assert {bo.shop_id for bo in s.scalars(select(Backorder))} == {a}
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        # Joins and relationship loads are filtered too.
        rows = s.execute(select(OrderLine, Order).join(Order)).all()
        assert {(line.shop_id, order.shop_id) for line, order in rows} == {(a, a)}
    with runtime.db.session() as s:
        b_backorder_id = s.scalar(select(Backorder.id).where(Backorder.shop_id == b))
        assert s.scalar(select(func.count()).select_from(Backorder)) == 2
    with runtime.db.shop_session(a) as s:
        assert s.get(Backorder, b_backorder_id) is None
        # Bulk updates are scoped as well: shop A cannot touch B's backorder by id.
        s.execute(update(Backorder).where(Backorder.id == b_backorder_id).values(status="cancelled"))
    with runtime.db.session() as s:
        assert s.get(Backorder, b_backorder_id).status == "open"


def test_writing_another_shops_row_is_refused(runtime):
    a = _shop_with_backorder(runtime, "a.myshopify.com")
    b = _shop_with_backorder(runtime, "b.myshopify.com")
    with pytest.raises(CrossShopWrite):
        with runtime.db.shop_session(a) as s:
            s.add(Variant(shop_id=b, platform_variant_id="2", sku="X"))
    with runtime.db.shop_session(a) as s:
        s.add(Variant(platform_variant_id="3", sku="Y"))  # shop_id filled in from the session
    with runtime.db.session() as s:
        assert s.scalar(select(Variant.shop_id).where(Variant.platform_variant_id == "3")) == a


def test_credentials_are_encrypted_at_rest(runtime):
    _shop_with_backorder(runtime, "c.myshopify.com")
    with runtime.db.session() as s:
        raw = s.execute(text("SELECT access_token FROM shops")).scalar_one()
        assert "shpat_secret" not in raw
        assert s.scalars(select(Shop)).one().access_token == "shpat_secret_c.myshopify.com"
