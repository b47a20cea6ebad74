"""order_marks, backorder_events and backorder_tally_changes keep shop_id without a foreign key

An ETA recompute inserts these rows by the thousand (a mark per order whose lines changed, an
event per line that moved, the tally moves of its writes; a first full recompute of a big shop
marks 725,000 orders). PostgreSQL checks a foreign key for every inserted row with a query of its
own: for a 1,000-SKU incremental recompute (15,795 marks, 13,793 events, 3,319 tally changes)
auto_explain counted 49 + 48 + 12 ms of key checks, about a tenth of the server's time.

What the keys did on delete is kept by a trigger on shops (shops_delete_bulk_rows: a statement
trigger over the deleted rows on PostgreSQL, a row trigger on SQLite). A shop's row outlives
every write of its rows: the app deletes a shop only when its data is erased (shop/redact), and
nothing is written for a shop that is gone.

SQLite cannot drop a constraint: the three tables are rebuilt (order_marks stays WITHOUT ROWID).
None of them has triggers of its own, but triggers on orders and backorders (migrations 0009,
0010, 0017) write into them, and SQLite refuses to rename a table into place while a trigger
names a table that is gone: the renames run with `legacy_alter_table` on, which leaves triggers
as they are written (they name the tables, which are there again under the same names).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 13:00:00
"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_TABLES = ("order_marks", "backorder_events", "backorder_tally_changes")

_SQLITE_DDL = {
    "order_marks": ("""CREATE TABLE {name} (
	shop_id INTEGER NOT NULL,
	order_id INTEGER NOT NULL,
	marked_at DATETIME NOT NULL,
	CONSTRAINT pk_order_marks PRIMARY KEY (shop_id, order_id){shop_key}
) WITHOUT ROWID""", "shop_id, order_id, marked_at", ()),
    "backorder_events": ("""CREATE TABLE {name} (
	id INTEGER NOT NULL,
	backorder_id INTEGER NOT NULL,
	kind VARCHAR(20) NOT NULL,
	promise_version INTEGER DEFAULT '1' NOT NULL,
	old_date DATE,
	new_date DATE,
	created_at DATETIME NOT NULL,
	handled_at DATETIME,
	shop_id INTEGER NOT NULL,
	CONSTRAINT pk_backorder_events PRIMARY KEY (id),
	CONSTRAINT uq_backorder_events_backorder_id_kind_promise_version UNIQUE (backorder_id, kind, promise_version){shop_key}
)""", "id, backorder_id, kind, promise_version, old_date, new_date, created_at, handled_at, shop_id",
        ("CREATE INDEX ix_backorder_events_shop_id ON backorder_events (shop_id)",
         "CREATE INDEX ix_backorder_events_unhandled ON backorder_events (shop_id, id) WHERE handled_at IS NULL")),
    "backorder_tally_changes": ("""CREATE TABLE {name} (
	id INTEGER NOT NULL,
	grain INTEGER NOT NULL,
	status VARCHAR(20) NOT NULL,
	promised_eta DATE,
	slipped BOOLEAN NOT NULL,
	supplier_id INTEGER,
	day DATE,
	lines INTEGER NOT NULL,
	units INTEGER NOT NULL,
	value NUMERIC(18, 4) NOT NULL,
	priced_lines INTEGER NOT NULL,
	shop_id INTEGER NOT NULL,
	CONSTRAINT pk_backorder_tally_changes PRIMARY KEY (id){shop_key}
)""", "id, grain, status, promised_eta, slipped, supplier_id, day, lines, units, value, priced_lines, shop_id",
        ("CREATE INDEX ix_backorder_tally_changes_shop_id ON backorder_tally_changes (shop_id)",)),
}

_PG_TRIGGER = """
CREATE FUNCTION bulk_rows_of_deleted_shops() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM order_marks m USING old_rows s WHERE m.shop_id = s.id;
    DELETE FROM backorder_events e USING old_rows s WHERE e.shop_id = s.id;
    DELETE FROM backorder_tally_changes t USING old_rows s WHERE t.shop_id = s.id;
    RETURN NULL;
END $$;
CREATE TRIGGER shops_delete_bulk_rows AFTER DELETE ON shops
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bulk_rows_of_deleted_shops();
"""
_SQLITE_TRIGGER = ("CREATE TRIGGER shops_delete_bulk_rows AFTER DELETE ON shops BEGIN "
                   "DELETE FROM order_marks WHERE shop_id = OLD.id; "
                   "DELETE FROM backorder_events WHERE shop_id = OLD.id; "
                   "DELETE FROM backorder_tally_changes WHERE shop_id = OLD.id; END")


def _shop_key(table: str) -> str:
    return (f",\n\tCONSTRAINT fk_{table}_shop_id_shops FOREIGN KEY(shop_id) REFERENCES shops (id) "
            f"ON DELETE CASCADE")


def _rebuild_sqlite(keys: bool) -> None:
    """The three tables anew, with or without the key to shops, rows kept."""
    op.execute("PRAGMA legacy_alter_table = ON")
    for table in _TABLES:
        ddl, columns, indexes = _SQLITE_DDL[table]
        op.execute(ddl.format(name=f"_{table}_new", shop_key=_shop_key(table) if keys else ""))
        op.execute(f"INSERT INTO _{table}_new ({columns}) SELECT {columns} FROM {table}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE _{table}_new RENAME TO {table}")
        for statement in indexes:
            op.execute(statement)
    op.execute("PRAGMA legacy_alter_table = OFF")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in _TABLES:
            op.drop_constraint(f'fk_{table}_shop_id_shops', table, type_='foreignkey')
        op.execute(_PG_TRIGGER)
        return
    _rebuild_sqlite(keys=False)
    op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute("DROP TRIGGER shops_delete_bulk_rows ON shops")
        op.execute("DROP FUNCTION bulk_rows_of_deleted_shops()")
    else:
        op.execute("DROP TRIGGER shops_delete_bulk_rows")
    for table in _TABLES:  # rows of a shop deleted meanwhile would fail the key
        op.execute(f"DELETE FROM {table} WHERE shop_id NOT IN (SELECT id FROM shops)")
    if not postgres:
        _rebuild_sqlite(keys=True)
        return
    for table in _TABLES:
        op.create_foreign_key(f'fk_{table}_shop_id_shops', table, 'shops', ['shop_id'], ['id'], ondelete='CASCADE')
