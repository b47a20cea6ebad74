"""The Alembic history builds exactly the schema the models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

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


def test_inbox_bodies_are_compressed_with_lz4_on_postgresql(database_url):
    """0015: the inbox INSERT the platform's 200 waits for compresses bodies with lz4, not pglz."""
    import pytest
    from sqlalchemy import text

    engine = create_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite stores bodies uncompressed")
        with engine.connect() as conn:
            method = conn.execute(text(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'webhook_events'::regclass AND attname = 'body'")).scalar_one()
    finally:
        engine.dispose()
    assert method == "l"
