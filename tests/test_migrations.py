"""The Alembic history builds exactly the schema the models describe, on both databases."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from plugin.db.migrate import upgrade
from plugin.db.models import Base


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_upgrading_a_database_that_holds_rows(tmp_path):
    """0001 -> head on a database with a shop, an order and a backorder, as a merchant would have."""
    from sqlalchemy import text

    from plugin.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    now = "2026-11-01 10:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO shops (id, platform, domain, status, settings, created_at, updated_at) "
                          "VALUES (1, 'shopify', 'old.myshopify.com', 'installed', '{}', :n, :n)"), {"n": now})
        conn.execute(text("INSERT INTO variants (id, shop_id, platform_variant_id, inventory_tracked, continue_selling, "
                          "sellable_quantity, location_quantities, updated_at) VALUES (1, 1, '9', 1, 1, -1, '{}', :n)"), {"n": now})
        conn.execute(text("INSERT INTO orders (id, shop_id, platform_order_id, status, placed_at, created_at, updated_at) "
                          "VALUES (1, 1, '5', 'open', :n, :n, :n)"), {"n": now})
        conn.execute(text("INSERT INTO order_lines (id, shop_id, order_id, platform_line_id, variant_id, quantity, open_quantity) "
                          "VALUES (1, 1, 1, '1', 1, 1, 1)"))
        conn.execute(text("INSERT INTO backorders (id, shop_id, order_line_id, variant_id, quantity, status, ordered_at, "
                          "created_at, updated_at) VALUES (1, 1, 1, 1, 1, 'open', :n, :n, :n)"), {"n": now})
        conn.execute(text("INSERT INTO suppliers (id, shop_id, name, lead_time_days, lead_time_spread_days, handling_days, "
                          "created_at) VALUES (1, 1, 'Acme', 10, 2, 1, :n)"), {"n": now})
    engine.dispose()
    upgrade(url, "0013")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT promise_version, priority FROM backorders")).one() == (1, 0)
        assert conn.execute(text("SELECT feed_kind, sync_interval_minutes, active FROM suppliers")).one() == ("manual", 360, 1)
        assert conn.execute(text("SELECT eta_dirty FROM variants")).scalar_one() == 1
        # 0003 rebuilds `orders` on SQLite: its lines and backorders must survive the rebuild.
        assert conn.execute(text("SELECT count(*) FROM order_lines")).scalar_one() == 1
        assert conn.execute(text("SELECT eta_revision FROM variants")).scalar_one() == 0
        assert conn.execute(text("SELECT marks_dirty FROM orders")).scalar_one() == 0
        assert conn.execute(text("SELECT original_eta, refund_offered_at FROM backorders")).one() == (None, None)
    with engine.begin() as conn:  # an order waiting for its marks to be pushed when 0014 comes
        conn.execute(text("UPDATE orders SET marks_dirty = 1"))
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT shop_id, order_id FROM order_marks")).all() == [(1, 1)]
        assert conn.execute(text("SELECT count(*) FROM order_lines")).scalar_one() == 1  # orders rebuilt again
        assert "marks_dirty" not in {row[1] for row in conn.execute(text("PRAGMA table_info(orders)"))}
    engine.dispose()


def _postgresql_catalog_value(database_url: str, sql: str, why_not_sqlite: str):
    """One value from PostgreSQL's catalog (the test is skipped on SQLite, saying why)."""
    from sqlalchemy import text

    if not database_url.startswith("postgresql"):
        pytest.skip(why_not_sqlite)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_inbox_bodies_are_compressed_with_lz4_on_postgresql(database_url):
    """0015: the inbox INSERT the platform's 200 waits for compresses bodies with lz4, not pglz."""
    method = _postgresql_catalog_value(database_url, "SELECT attcompression FROM pg_attribute "
                                       "WHERE attrelid = 'webhook_events'::regclass AND attname = 'body'",
                                       "SQLite stores bodies uncompressed")
    assert method == "l"


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database_url(request, tmp_path):
    """A database of this test's own, migrated to head, which it may downgrade."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
        upgrade(url)
        yield url
        return
    import uuid

    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL, _pg

    name = f"backorder_migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_pg(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = _pg(POSTGRES_ADMIN_URL).rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(_pg(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0020_down_and_up_keeps_the_rows_and_moves_the_shop_keys(own_database_url):
    """0020 drops the shop keys of order_marks, backorder_events and backorder_tally_changes (a
    trigger on shops deletes their rows instead); its downgrade brings the keys back, and both
    ways keep the rows (SQLite rebuilds the tables)."""
    from alembic import command
    from sqlalchemy import inspect, text

    from plugin.db.migrate import alembic_config

    tables = ("order_marks", "backorder_events", "backorder_tally_changes")
    url = own_database_url
    engine = create_engine(url)
    now = "2026-12-07 10:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO shops (id, platform, domain, status, settings, created_at, updated_at) "
                          "VALUES (1, 'shopify', 'keys.myshopify.com', 'installed', '{}', :n, :n)"), {"n": now})
        conn.execute(text("INSERT INTO order_marks (shop_id, order_id, marked_at) VALUES (1, 7, :n)"), {"n": now})
        conn.execute(text("INSERT INTO backorder_events (shop_id, backorder_id, kind, promise_version, created_at) "
                          "VALUES (1, 9, 'delay', 2, :n)"), {"n": now})
        conn.execute(text("INSERT INTO backorder_tally_changes (shop_id, grain, status, slipped, lines, units, value, "
                          "priced_lines) VALUES (1, 1, 'open', false, 1, 2, 0, 0)"))

    def keys() -> dict[str, set]:
        inspector = inspect(engine)
        return {table: {key["referred_table"] for key in inspector.get_foreign_keys(table)} for table in tables}

    def counts() -> list[int]:
        with engine.connect() as conn:
            return [conn.execute(text(f"SELECT count(*) FROM {table} WHERE shop_id = 1")).scalar_one() for table in tables]

    try:
        assert keys() == {table: set() for table in tables}
        engine.dispose()
        command.downgrade(alembic_config(url), "0019")
        assert keys() == {table: {"shops"} for table in tables}
        assert counts() == [1, 1, 1]
        engine.dispose()
        command.upgrade(alembic_config(url), "head")
        assert keys() == {table: set() for table in tables}
        assert counts() == [1, 1, 1]
        with engine.begin() as conn:  # and the trigger does what the keys' cascades did
            conn.execute(text("DELETE FROM shops WHERE id = 1"))
        assert counts() == [0, 0, 0]
    finally:
        engine.dispose()


def test_backorders_pages_leave_room_for_updates_on_postgresql(database_url):
    """0021: a recompute's update of a line that moves no indexed column can stay on its page (HOT)."""
    from plugin.db.models import BACKORDERS_FILLFACTOR

    options = _postgresql_catalog_value(database_url, "SELECT reloptions FROM pg_class WHERE relname = 'backorders'",
                                        "SQLite has no fill factor")
    assert options == [f"fillfactor={BACKORDERS_FILLFACTOR}"] and BACKORDERS_FILLFACTOR < 100
