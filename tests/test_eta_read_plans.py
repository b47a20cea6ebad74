"""The recompute's reads that must not visit every line or PO line use the indexes made for them."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import insert, select

from plugin.db.models import Backorder, Order, OrderLine, OrderMark, Shop, Supplier, SupplyLine, Variant
from plugin.eta import recompute as rc
from plugin.eta.bulk import BulkSql

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def _shop(runtime) -> int:
    with runtime.db.session() as s:
        shop = Shop(platform="shopify", domain="plans.myshopify.com", status="installed", settings={},
                    created_at=NOW, updated_at=NOW)
        s.add(shop)
        s.flush()
        return shop.id


def _recorded(monkeypatch) -> list[tuple[str, tuple]]:
    """The driver-level statements run from here on, with their parameters."""
    from plugin.db.driver import DriverSql

    seen: list[tuple[str, tuple]] = []
    run = DriverSql._all

    def recording(self, sql, params):
        seen.append((sql, tuple(params)))
        return run(self, sql, params)

    monkeypatch.setattr(DriverSql, "_all", recording)
    return seen


def _plan_of(session, sql: str, params: tuple) -> str:
    return " | ".join(row[3] for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))


def test_overrides_are_found_through_their_partial_index(runtime, monkeypatch):
    shop_id = _shop(runtime)
    with runtime.db.shop_session(shop_id) as s:
        variants = [Variant(shop_id=shop_id, platform_variant_id=str(i), sku=f"S{i}", inventory_tracked=True,
                            continue_selling=True, sellable_quantity=0, location_quantities={}) for i in range(2)]
        s.add_all(variants)
        order = Order(shop_id=shop_id, platform_order_id="1", status="open", placed_at=NOW)
        s.add(order)
        s.flush()
        for i, (variant, override) in enumerate([(variants[0], date(2027, 1, 5)), (variants[1], None),
                                                 (variants[0], None)]):
            line = OrderLine(shop_id=shop_id, order_id=order.id, platform_line_id=str(i), variant_id=variant.id,
                             quantity=1, open_quantity=1)
            s.add(line)
            s.flush()
            s.add(Backorder(shop_id=shop_id, order_line_id=line.id, variant_id=variant.id, quantity=1, status="open",
                            ordered_at=NOW, eta_override=override))
        s.flush()
        ids = sorted(v.id for v in variants)
        seen = _recorded(monkeypatch)
        found = rc._overrides(BulkSql.of(s, shop_id), ids)
        assert list(found.values()) == [date(2027, 1, 5)]
        if runtime.db.is_sqlite:
            assert "ix_backorders_overridden" in _plan_of(s, *seen[-1])


def test_the_lateness_history_is_read_in_its_index_order(runtime, monkeypatch):
    shop_id = _shop(runtime)
    with runtime.db.shop_session(shop_id) as s:
        supplier = Supplier(shop_id=shop_id, name="Acme", lead_time_days=10, lead_time_spread_days=2, handling_days=1)
        s.add(supplier)
        s.flush()
        rows = [dict(shop_id=shop_id, supplier_id=supplier.id, sku="S1", quantity=1, po_reference=f"PO{i}",
                     promised_date=date(2026, 11, 1), expected_date=date(2026, 11, 3),
                     received_date=date(2026, 11, 3) if i < 3 else None,
                     status=("received", "received", "received", "ordered", "cancelled")[i])
                for i in range(5)]
        s.execute(insert(SupplyLine), rows)
        seen = _recorded(monkeypatch)
        history = sorted(BulkSql.of(s, shop_id).lateness_history(), key=lambda r: r[2] is None)
        # Cancelled lines say nothing about lateness; the three receipts share their dates.
        assert history == [(supplier.id, date(2026, 11, 1), date(2026, 11, 3), 3),
                           (supplier.id, date(2026, 11, 1), None, 1)]
        if runtime.db.is_sqlite:
            plan = _plan_of(s, *seen[-1])
            assert "ix_supply_lines_history" in plan and "TEMP B-TREE" not in plan



def test_orders_are_marked_once_from_their_lines_and_found_by_id(runtime):
    """The marks of a big write are looked up from its order lines in the statement itself; it
    counts the orders newly marked. SQLite: the staged lines' UPDATE walks the staging table and
    finds each line by id, and the marks find each order line by id (with the shop's indexes
    the planner had walked every line of the shop for each chunk)."""
    shop_id = _shop(runtime)
    with runtime.db.shop_session(shop_id) as s:
        orders = [Order(shop_id=shop_id, platform_order_id=str(i), status="open", placed_at=NOW) for i in range(2)]
        s.add_all(orders)
        s.flush()
        lines = [OrderLine(shop_id=shop_id, order_id=order.id, platform_line_id=f"{order.id}-{i}", quantity=1,
                           open_quantity=1) for order in orders for i in range(2)]
        s.add_all(lines)
        s.flush()
        sql = BulkSql.of(s, shop_id)
        assert sql.mark_orders_of_lines([line.id for line in lines[:3]], NOW) == 2  # both orders, once each
        assert sql.mark_orders_of_lines([lines[3].id], NOW) == 0  # its order is marked already
        assert sorted(s.scalars(select(OrderMark.order_id))) == sorted(order.id for order in orders)
        if not runtime.db.is_sqlite:
            return
        sql._run("CREATE TEMP TABLE IF NOT EXISTS eta_line_updates (id INTEGER PRIMARY KEY, bits INTEGER, "
                 + ", ".join(BulkSql._U_NAMES[1:]) + ")", ())
        for bits in range(8):
            plan = _plan_of(s, BulkSql.sqlite_update_from_table(bits), ("x", "x", bits, shop_id))
            assert plan.startswith("SCAN u") and "SEARCH backorders USING INTEGER PRIMARY KEY" in plan, plan
        plan = _plan_of(s, sql.mark_orders_of_lines_sql(), (shop_id, "x", shop_id, "[1, 2]"))
        assert "SEARCH order_lines USING INTEGER PRIMARY KEY" in plan, plan
