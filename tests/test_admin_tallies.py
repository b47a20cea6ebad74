"""The tallies the database keeps for the admin (migration 0009) equal the lines, whatever writes them.

Every write path is tried on both databases: ORM inserts, updates and deletes, bulk SQL updates
as the recompute makes them, the ETA recompute itself, an order line's price change, a shop
erased; before and after folds. The truth is summed straight from `backorders`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update

from plugin.admin.tallies import FOLD_AFTER, TALLY_BY_DAY, TALLY_BY_SUPPLIER, fold, fold_if_due, pending, tally_rows
from plugin.db.models import Backorder, BackorderTally, BackorderTallyChange, BackorderTallyPause, Order, OrderLine, Shop, Supplier
from tests.flow_helpers import install_shop
from tests.test_admin_auth import add_line, shop_id_of

SHOP, OTHER = "tally-shop.myshopify.com", "tally-other.myshopify.com"
TODAY = date.today()
TRIGGERS = {"backorders_unit_price", "order_lines_unit_price", "backorders_tally_insert", "backorders_tally_delete"}
UPDATE_TRIGGERS = {"sqlite": {"backorders_tally_update_day", "backorders_tally_update_supplier"},
                   "postgresql": {"backorders_tally_update"}}


@pytest.fixture
def shops(runtime, fake_shopify):
    ids = {}
    for domain in (SHOP, OTHER):
        fake_shopify.create_shop(domain)
        install_shop(runtime, fake_shopify, domain)
        ids[domain] = shop_id_of(runtime, "shopify", domain)
    with runtime.db.shop_session(ids[SHOP]) as session:
        suppliers = [Supplier(shop_id=ids[SHOP], name=name) for name in ("Nordic Oak Works", "Linen & Light")]
        session.add_all(suppliers)
        session.flush()
        ids["suppliers"] = [s.id for s in suppliers]
    return ids


def _day(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()


def truth(runtime, shop_id: int) -> dict:
    """What the tallies must hold, summed from the lines themselves."""
    out: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0])
    with runtime.db.shop_session(shop_id) as session:
        rows = session.execute(select(Backorder.status, Backorder.promised_eta, Backorder.current_eta,
                                      Backorder.supplier_id, Backorder.ordered_at, Backorder.shipped_at,
                                      Backorder.quantity, Backorder.unit_price)).all()
    for status, promised, current, supplier, ordered_at, shipped_at, quantity, price in rows:
        waiting = status in ("open", "ready")
        slipped = bool(waiting and promised is not None and current is not None and current > promised)
        keys = [(TALLY_BY_SUPPLIER, status, promised, slipped, supplier, None)]
        if waiting:
            keys.append((TALLY_BY_DAY, status, promised, slipped, None, _day(ordered_at)))
        elif status == "shipped":
            keys.append((TALLY_BY_DAY, status, promised, False, None, _day(shipped_at)))
        for key in keys:
            counts = out[key]
            counts[0] += 1
            counts[1] += quantity
            if price is not None:
                counts[2] += Decimal(str(price)) * quantity
                counts[3] += 1
    return {key: (v[0], v[1], v[2].quantize(Decimal("0.01")), v[3]) for key, v in out.items()}


def tallied(runtime, shop_id: int) -> dict:
    """The tallies as readers see them: both tables summed, zero keys left out."""
    out = {}
    with runtime.db.shop_session(shop_id) as session:
        for grain in (TALLY_BY_DAY, TALLY_BY_SUPPLIER):
            t = tally_rows(shop_id, grain)
            stmt = (select(t.c.status, t.c.promised_eta, t.c.slipped, t.c.supplier_id, t.c.day, func.sum(t.c.lines),
                           func.sum(t.c.units), func.sum(t.c.value), func.sum(t.c.priced_lines))
                    .group_by(t.c.status, t.c.promised_eta, t.c.slipped, t.c.supplier_id, t.c.day))
            for status, promised, slipped, supplier, day, lines, units, value, priced in session.execute(stmt):
                if (lines, units, priced) == (0, 0, 0) and not value:
                    continue
                key = (grain, status, _day(promised), bool(slipped), supplier, _day(day))
                out[key] = (int(lines), int(units), Decimal(str(value)).quantize(Decimal("0.01")), int(priced))
    return out


def assert_tallies_true(runtime, shop_id: int) -> None:
    expected, got = truth(runtime, shop_id), tallied(runtime, shop_id)
    assert got == expected, {"missing": {k: v for k, v in expected.items() if got.get(k) != v},
                             "extra": {k: v for k, v in got.items() if expected.get(k) != v}}


def lines_of(runtime, shop_id: int) -> list[int]:
    now = datetime.now(timezone.utc)
    suppliers = [None]
    with runtime.db.shop_session(shop_id) as session:
        suppliers += list(session.scalars(select(Supplier.id)))
    made = []
    for i in range(12):
        made.append(add_line(
            runtime, shop_id, sku=f"SKU-{i % 4}", title=f"Item {i % 4}", quantity=1 + i % 3,
            order_name=f"#{2000 + i}", status=("open", "open", "ready", "shipped", "cancelled", "refunded")[i % 6],
            promised=TODAY + timedelta(days=(i % 5) - 2), current=TODAY + timedelta(days=(i % 7) - 1),
            ordered_at=now - timedelta(days=i * 9, hours=i), price=None if i % 5 == 4 else f"{10 + i}.25",
            supplier_id=suppliers[i % len(suppliers)]))
    return made


def test_triggers_exist_at_head(runtime):
    """A SQLite batch migration that rebuilds `backorders` drops its triggers: it must make them again."""
    with runtime.db.engine.connect() as conn:
        if runtime.db.is_sqlite:
            names = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        else:
            names = {row[0] for row in conn.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    wanted = TRIGGERS | UPDATE_TRIGGERS[runtime.db.dialect]
    assert wanted <= names, wanted - names


def test_inserts_are_tallied_with_the_lines_price(runtime, shops):
    shop = shops[SHOP]
    made = lines_of(runtime, shop)
    with runtime.db.shop_session(shop) as session:
        prices = dict(session.execute(select(Backorder.id, Backorder.unit_price).where(Backorder.id.in_(made))).all())
        line_prices = dict(session.execute(select(Backorder.id, OrderLine.unit_price)
                                           .join(OrderLine, OrderLine.id == Backorder.order_line_id)).all())
    assert prices == {k: line_prices[k] for k in prices} and any(v is None for v in prices.values())
    assert_tallies_true(runtime, shop)
    assert tallied(runtime, shops[OTHER]) == {}


def test_updates_deletes_and_price_changes_are_tallied(runtime, shops):
    shop = shops[SHOP]
    made = lines_of(runtime, shop)
    lines_of(runtime, shops[OTHER])
    with runtime.db.shop_session(shop) as session:
        first, second, third = (session.get(Backorder, i) for i in made[:3])
        first.status, first.shipped_at = "shipped", datetime.now(timezone.utc)
        second.current_eta = (second.promised_eta or TODAY) + timedelta(days=9)  # slips
        third.quantity, third.supplier_id = 7, shops["suppliers"][1]
        session.get(Backorder, made[4]).promised_eta = None
    assert_tallies_true(runtime, shop)

    # A price the order line gets later (an edit, a payload that had none) follows onto the line.
    with runtime.db.shop_session(shop) as session:
        line_id = session.get(Backorder, made[4]).order_line_id
        session.get(OrderLine, line_id).unit_price = Decimal("99.90")
        session.get(OrderLine, session.get(Backorder, made[5]).order_line_id).unit_price = None
    with runtime.db.shop_session(shop) as session:
        assert session.get(Backorder, made[4]).unit_price == Decimal("99.90")
        assert session.get(Backorder, made[5]).unit_price is None
    assert_tallies_true(runtime, shop)

    # Bulk statements, as the recompute writes them, and an update that changes nothing counted.
    with runtime.db.shop_session(shop) as session:
        session.execute(update(Backorder).where(Backorder.status == "open")
                        .values(current_eta=Backorder.current_eta + timedelta(days=3) if not runtime.db.is_sqlite
                                else func.date(Backorder.current_eta, "+3 days"))
                        .execution_options(synchronize_session=False))
        before = pending(session, shop)
        session.execute(update(Backorder).values(eta_computed_at=datetime.now(timezone.utc))
                        .execution_options(synchronize_session=False))
        assert pending(session, shop) == before  # nothing counted changed: nothing appended
    assert_tallies_true(runtime, shop)

    # Deletes: a line, and an order with its lines (the database cascades to the backorder).
    with runtime.db.shop_session(shop) as session:
        session.execute(delete(Backorder).where(Backorder.id == made[6]))
        order_id = session.scalar(select(OrderLine.order_id).join(Backorder, Backorder.order_line_id == OrderLine.id)
                                  .where(Backorder.id == made[7]))
        session.execute(delete(Order).where(Order.id == order_id))
    assert_tallies_true(runtime, shop)
    assert_tallies_true(runtime, shops[OTHER])


def test_folds_keep_the_counts_and_empty_the_changes(runtime, shops):
    shop = shops[SHOP]
    made = lines_of(runtime, shop)
    fold(runtime, shop)
    with runtime.db.shop_session(shop) as session:
        assert pending(session, shop) == 0
        folded_rows = session.scalar(select(func.count()).select_from(BackorderTally))
        assert folded_rows > 0
    assert_tallies_true(runtime, shop)

    with runtime.db.shop_session(shop) as session:  # some changes after the fold, then fold again
        for backorder_id in made[:4]:
            row = session.get(Backorder, backorder_id)
            row.status, row.shipped_at = "cancelled", None
    assert_tallies_true(runtime, shop)
    fold(runtime, shop)
    assert_tallies_true(runtime, shop)
    with runtime.db.shop_session(shop) as session:
        assert pending(session, shop) == 0
        rows = session.execute(select(BackorderTally.lines, BackorderTally.units, BackorderTally.priced_lines)).all()
    assert all(row != (0, 0, 0) for row in rows)  # keys that fell to zero are gone

    assert fold_if_due(runtime, shop) is False
    assert fold_if_due(runtime, shop, after=-1) is True
    assert_tallies_true(runtime, shop)
    assert FOLD_AFTER > 0


def test_the_eta_recompute_is_tallied(runtime, shops):
    from plugin.eta.recompute import recompute_shop

    shop = shops[SHOP]
    lines_of(runtime, shop)
    with runtime.db.shop_session(shop) as session:  # no ETA yet: the recompute writes every line
        session.execute(update(Backorder).where(Backorder.status.in_(("open", "ready")))
                        .values(promised_eta=None, original_eta=None, current_eta=None)
                        .execution_options(synchronize_session=False))
    assert_tallies_true(runtime, shop)
    recompute_shop(runtime, shop, full=True)
    with runtime.db.shop_session(shop) as session:
        assert session.scalar(select(func.count()).select_from(Backorder).where(
            Backorder.status.in_(("open", "ready")), Backorder.current_eta.is_(None))) == 0
        # SQLite's bulk write paused the row triggers of its shop inside its transaction only
        assert session.scalar(select(func.count()).select_from(BackorderTallyPause)) == 0
    assert_tallies_true(runtime, shop)
    with runtime.db.shop_session(shop) as session:  # and a later plain update is tallied by the triggers again
        session.execute(update(Backorder).where(Backorder.status == "open").values(promised_eta=TODAY)
                        .execution_options(synchronize_session=False))
    assert_tallies_true(runtime, shop)


def test_the_pause_ends_with_the_recomputes_statement(runtime, shops):
    """An order handler recomputes inside its own transaction, then goes on writing lines: the
    triggers are paused for the recompute's bulk statement only, not for what follows it."""
    from plugin.eta.recompute import recompute_variants_in_session

    shop = shops[SHOP]
    made = lines_of(runtime, shop)
    with runtime.db.shop_session(shop) as session:
        session.execute(update(Backorder).where(Backorder.status.in_(("open", "ready")))
                        .values(promised_eta=None, original_eta=None, current_eta=None)
                        .execution_options(synchronize_session=False))
    with runtime.db.shop_session(shop) as session:
        variants = {session.get(Backorder, line).variant_id for line in made} - {None}
        counts = recompute_variants_in_session(runtime, session, session.get(Shop, shop), variants, today=TODAY)
        assert counts.changed > 0
        session.execute(update(Backorder).where(Backorder.status == "open")
                        .values(promised_eta=TODAY + timedelta(days=40))
                        .execution_options(synchronize_session=False))
        session.execute(delete(Backorder).where(Backorder.id == made[0]))
    assert_tallies_true(runtime, shop)


def test_an_erased_shop_leaves_no_tallies(runtime, shops):
    from plugin.compliance.services import erase_shop
    from plugin.shops.services import uninstall_shop

    shop = shops[SHOP]
    lines_of(runtime, shop)
    fold(runtime, shop)
    lines_of(runtime, shop)  # pending changes too
    uninstall_shop(runtime.db, "shopify", SHOP)
    assert erase_shop(runtime, shop).erased
    with runtime.db.session() as session:
        for model in (BackorderTally, BackorderTallyChange):
            assert session.scalar(select(func.count()).select_from(model).where(model.shop_id == shop)) == 0
        assert session.get(Shop, shop) is None
    assert_tallies_true(runtime, shops[OTHER])


def test_a_shop_deleted_outright_cascades(runtime, shops):
    """Deleting the shop row itself (ON DELETE CASCADE to its lines) appends nothing for it."""
    shop = shops[SHOP]
    lines_of(runtime, shop)
    with runtime.db.session() as session:
        session.execute(text("DELETE FROM shops WHERE id = :id"), {"id": shop})
    with runtime.db.session() as session:
        for model in (BackorderTally, BackorderTallyChange, Backorder):
            assert session.scalar(select(func.count()).select_from(model).where(model.shop_id == shop)) == 0


def test_the_overview_and_the_list_total_read_the_tallies(runtime, shops):
    from plugin.admin.queries import list_backorders, overview
    from plugin.admin.schemas import BackorderQuery

    shop = shops[SHOP]
    lines_of(runtime, shop)
    with runtime.db.shop_session(shop) as session:
        rows = session.execute(select(Backorder.status, Backorder.quantity, Backorder.supplier_id,
                                      Backorder.promised_eta, Backorder.current_eta)).all()
    waiting = [r for r in rows if r.status in ("open", "ready")]
    delayed = [r for r in waiting if r.promised_eta is not None
               and ((r.current_eta is not None and r.current_eta > r.promised_eta) or r.promised_eta < TODAY)]
    figures = overview(runtime, shop).figures
    assert (figures.open_lines, figures.open_units, figures.delayed_lines) == (
        len(waiting), sum(r.quantity for r in waiting), len(delayed))
    supplier = shops["suppliers"][0]
    cases = [
        (BackorderQuery(), len(waiting)),
        (BackorderQuery(delayed=True), len(delayed)),
        (BackorderQuery(delayed=False), len(waiting) - len(delayed)),
        (BackorderQuery(status=["shipped", "cancelled"]), sum(1 for r in rows if r.status in ("shipped", "cancelled"))),
        (BackorderQuery(supplier_id=supplier, delayed=True), sum(1 for r in delayed if r.supplier_id == supplier)),
        (BackorderQuery(promised_from=TODAY, promised_to=TODAY + timedelta(days=1)),
         sum(1 for r in waiting if r.promised_eta and TODAY <= r.promised_eta <= TODAY + timedelta(days=1))),
    ]
    for query, expected in cases:
        page = list_backorders(runtime, shop, query)
        assert page.total == expected, query
        assert len(page.rows) == min(expected, query.per_page), query
    assert Counter(r.status for r in rows)["open"] > 0
