"""order_marks and backorder_events have no foreign key to their order / line (migration 0017),
nor they and backorder_tally_changes to their shop (migration 0020): deleting those deletes them,
and rows left by a delete racing an insert are forgotten."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import delete, func, select, text

from plugin.backorders import marks as order_marks
from plugin.backorders.services import marks_for_order
from plugin.db.models import (Backorder, BackorderEvent, BackorderTallyChange, Notification, Order, OrderLine,
                               OrderMark, Shop)
from plugin.notifications.event_messages import queue_shop_events

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def _shop_with_an_order(runtime, domain: str = "hints.myshopify.com") -> tuple[int, int, int]:
    """(shop id, order id, backorder id): one order, one backordered line, an event, a mark (and
    the tally changes of the line's insert)."""
    with runtime.db.session() as s:
        shop = Shop(platform="shopify", domain=domain, status="installed", settings={},
                    created_at=NOW, updated_at=NOW)
        s.add(shop)
        s.flush()
        shop_id = shop.id
    with runtime.db.shop_session(shop_id) as s:
        order = Order(shop_id=shop_id, platform_order_id="1001", status="open", placed_at=NOW)
        s.add(order)
        s.flush()
        line = OrderLine(shop_id=shop_id, order_id=order.id, platform_line_id="1", quantity=2, open_quantity=2)
        s.add(line)
        s.flush()
        backorder = Backorder(shop_id=shop_id, order_line_id=line.id, quantity=2, status="open", ordered_at=NOW,
                              promised_eta=date(2026, 12, 20), current_eta=date(2026, 12, 24), promise_version=2)
        s.add(backorder)
        s.flush()
        s.add(BackorderEvent(shop_id=shop_id, backorder_id=backorder.id, kind="delay", promise_version=2,
                             old_date=date(2026, 12, 20), new_date=date(2026, 12, 24)))
        order_marks.mark(s, shop_id, [order.id])
        return shop_id, order.id, backorder.id


def _count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_deleting_an_order_deletes_its_marks_and_its_lines_events(runtime):
    shop_id, order_id, _ = _shop_with_an_order(runtime)
    assert _count(runtime, OrderMark) == 1 and _count(runtime, BackorderEvent) == 1
    with runtime.db.session() as s:  # the lines and backorders go by their foreign keys' cascades
        s.execute(text("DELETE FROM orders WHERE id = :id"), {"id": order_id})
    assert _count(runtime, Backorder) == 0
    assert _count(runtime, OrderMark) == 0 and _count(runtime, BackorderEvent) == 0


def test_deleting_a_line_deletes_its_events_only(runtime):
    shop_id, order_id, backorder_id = _shop_with_an_order(runtime)
    with runtime.db.shop_session(shop_id) as s:
        s.execute(delete(Backorder).where(Backorder.id == backorder_id))
    assert _count(runtime, BackorderEvent) == 0
    assert _count(runtime, OrderMark) == 1  # the order is still there, and still to be told


def test_a_mark_of_an_order_that_is_gone_is_forgotten_by_the_push(runtime):
    shop_id, order_id, _ = _shop_with_an_order(runtime)
    with runtime.db.shop_session(shop_id) as s:  # what a delete racing the recompute's insert leaves
        order_marks.mark(s, shop_id, [order_id + 1000])
    with runtime.db.shop_session(shop_id) as s:
        shop = s.get(Shop, shop_id)
    assert marks_for_order(runtime, shop, order_id + 1000) is None
    with runtime.db.shop_session(shop_id) as s:
        assert order_marks.marked(s, shop_id) == [order_id]


def test_an_event_of_a_line_that_is_gone_is_handled_without_a_message(runtime):
    shop_id, _, backorder_id = _shop_with_an_order(runtime)
    with runtime.db.shop_session(shop_id) as s:
        s.execute(delete(BackorderEvent))
        s.add(BackorderEvent(shop_id=shop_id, backorder_id=backorder_id + 1000, kind="delay", promise_version=2,
                             old_date=date(2026, 12, 20), new_date=date(2026, 12, 24)))
    assert queue_shop_events(runtime, shop_id) == 1
    assert _count(runtime, Notification) == 0
    with runtime.db.session() as s:
        assert s.scalar(select(BackorderEvent.handled_at)) is not None


def _rows_of(runtime, shop_id: int) -> tuple[int, int, int]:
    """(marks, events, tally changes) of this shop."""
    with runtime.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(model).where(model.shop_id == shop_id))
                     for model in (OrderMark, BackorderEvent, BackorderTallyChange))


def test_deleting_a_shop_deletes_its_marks_events_and_tally_changes(runtime):
    gone, _, _ = _shop_with_an_order(runtime, "gone.myshopify.com")
    kept, _, _ = _shop_with_an_order(runtime, "kept.myshopify.com")
    assert _rows_of(runtime, gone) == _rows_of(runtime, kept)
    marks, events, tallies = _rows_of(runtime, gone)
    assert marks == 1 and events == 1 and tallies > 0
    with runtime.db.session() as s:  # as shop/redact erases a shop (plugin/compliance/services.py)
        s.delete(s.get(Shop, gone))
    assert _rows_of(runtime, gone) == (0, 0, 0)
    assert _rows_of(runtime, kept) == (marks, events, tallies)


def test_the_bulk_rows_have_no_foreign_key_to_their_shop(database_url):
    """What makes a recompute's inserts cheaper on PostgreSQL (migration 0020); the other tables
    of a shop keep theirs."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        keys = {table: {key["referred_table"] for key in inspector.get_foreign_keys(table)}
                for table in ("order_marks", "backorder_events", "backorder_tally_changes", "backorders",
                              "backorder_tallies")}
    finally:
        engine.dispose()
    assert keys["order_marks"] == keys["backorder_events"] == keys["backorder_tally_changes"] == set()
    assert "shops" in keys["backorders"] and "shops" in keys["backorder_tallies"]
