"""order_marks and backorder_events refer to their order / line without a foreign key

A foreign key is checked on every inserted row, and on PostgreSQL the check locks the referenced
row (`SELECT ... FOR KEY SHARE`): it writes the lock into the order's or line's tuple, a WAL
record, and after each checkpoint a full 8 KB image of its page. The ETA recompute inserts a
mark for every order whose lines changed and an event for every line that moved: on the
reference machine, for the 15,795 marks and 13,793 events of a 1,000-SKU incremental recompute,
the two inserts took 0.45 and 0.60 s with the keys and 0.18 and 0.18 s without them (~190 MB of
WAL each for the locks alone), and a first full recompute marks 725,000 orders.

What the keys did on delete is kept by triggers: deleting orders deletes their marks, deleting
lines deletes their events (statement triggers over the deleted rows on PostgreSQL, row triggers
on SQLite; they fire for rows deleted by cascades too). A row inserted for an order or line
deleted at the same moment by another transaction is harmless: the push job forgets marks of
orders that are gone, and the outbox skips events of lines that are gone. The shop keys stay
(one row, locked once per transaction). The index on backorder_events.backorder_id goes: the
unique (backorder_id, kind, promise_version) starts with it.

SQLite cannot drop a constraint: both tables are rebuilt (order_marks stays WITHOUT ROWID). A
later migration that rebuilds `orders` or `backorders` on SQLite must create these triggers again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:00:00
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_SQLITE_MARKS = """CREATE TABLE {name} (
	shop_id INTEGER NOT NULL,
	order_id INTEGER NOT NULL,
	marked_at DATETIME NOT NULL,
	CONSTRAINT pk_order_marks PRIMARY KEY (shop_id, order_id),
	{order_key}CONSTRAINT fk_order_marks_shop_id_shops FOREIGN KEY(shop_id) REFERENCES shops (id) ON DELETE CASCADE
) WITHOUT ROWID"""
_SQLITE_EVENTS = """CREATE TABLE {name} (
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
	{line_key}CONSTRAINT fk_backorder_events_shop_id_shops FOREIGN KEY(shop_id) REFERENCES shops (id) ON DELETE CASCADE,
	CONSTRAINT uq_backorder_events_backorder_id_kind_promise_version UNIQUE (backorder_id, kind, promise_version)
)"""
_ORDER_KEY = ("CONSTRAINT fk_order_marks_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) "
              "ON DELETE CASCADE,\n\t")
_LINE_KEY = ("CONSTRAINT fk_backorder_events_backorder_id_backorders FOREIGN KEY(backorder_id) "
             "REFERENCES backorders (id) ON DELETE CASCADE,\n\t")
_EVENT_COLUMNS = "id, backorder_id, kind, promise_version, old_date, new_date, created_at, handled_at, shop_id"

_PG_TRIGGERS = """
CREATE FUNCTION order_marks_of_deleted_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM order_marks m USING old_rows o WHERE m.shop_id = o.shop_id AND m.order_id = o.id;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_delete_marks AFTER DELETE ON orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION order_marks_of_deleted_orders();
CREATE FUNCTION backorder_events_of_deleted_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM backorder_events e USING old_rows o WHERE e.backorder_id = o.id;
    RETURN NULL;
END $$;
CREATE TRIGGER backorders_delete_events AFTER DELETE ON backorders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backorder_events_of_deleted_lines();
"""
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER orders_delete_marks AFTER DELETE ON orders BEGIN "
    "DELETE FROM order_marks WHERE shop_id = OLD.shop_id AND order_id = OLD.id; END",
    "CREATE TRIGGER backorders_delete_events AFTER DELETE ON backorders BEGIN "
    "DELETE FROM backorder_events WHERE backorder_id = OLD.id; END",
)


def _rebuild_sqlite(keys: bool) -> None:
    """Both tables anew, with or without the keys to orders / backorders, rows kept."""
    op.execute(_SQLITE_MARKS.format(name="_order_marks_new", order_key=_ORDER_KEY if keys else ""))
    op.execute("INSERT INTO _order_marks_new (shop_id, order_id, marked_at) SELECT shop_id, order_id, marked_at "
               "FROM order_marks")
    op.execute("DROP TABLE order_marks")
    op.execute("ALTER TABLE _order_marks_new RENAME TO order_marks")
    op.execute(_SQLITE_EVENTS.format(name="_backorder_events_new", line_key=_LINE_KEY if keys else ""))
    op.execute(f"INSERT INTO _backorder_events_new ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM backorder_events")
    op.execute("DROP TABLE backorder_events")
    op.execute("ALTER TABLE _backorder_events_new RENAME TO backorder_events")
    if keys:
        op.execute("CREATE INDEX ix_backorder_events_backorder_id ON backorder_events (backorder_id)")
    op.execute("CREATE INDEX ix_backorder_events_shop_id ON backorder_events (shop_id)")
    op.execute("CREATE INDEX ix_backorder_events_unhandled ON backorder_events (shop_id, id) WHERE handled_at IS NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_order_marks_order_id_orders', 'order_marks', type_='foreignkey')
        op.drop_constraint('fk_backorder_events_backorder_id_backorders', 'backorder_events', type_='foreignkey')
        op.drop_index('ix_backorder_events_backorder_id', table_name='backorder_events')
        op.execute(_PG_TRIGGERS)
        return
    _rebuild_sqlite(keys=False)
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER backorders_delete_events ON backorders")
        op.execute("DROP FUNCTION backorder_events_of_deleted_lines()")
        op.execute("DROP TRIGGER orders_delete_marks ON orders")
        op.execute("DROP FUNCTION order_marks_of_deleted_orders()")
        # Rows of orders or lines deleted meanwhile would fail the keys.
        op.execute("DELETE FROM order_marks m WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = m.order_id)")
        op.execute("DELETE FROM backorder_events e WHERE NOT EXISTS "
                   "(SELECT 1 FROM backorders b WHERE b.id = e.backorder_id)")
        op.create_index('ix_backorder_events_backorder_id', 'backorder_events', ['backorder_id'], unique=False)
        op.create_foreign_key('fk_backorder_events_backorder_id_backorders', 'backorder_events', 'backorders',
                              ['backorder_id'], ['id'], ondelete='CASCADE')
        op.create_foreign_key('fk_order_marks_order_id_orders', 'order_marks', 'orders', ['order_id'], ['id'],
                              ondelete='CASCADE')
        return
    op.execute("DROP TRIGGER backorders_delete_events")
    op.execute("DROP TRIGGER orders_delete_marks")
    op.execute("DELETE FROM order_marks WHERE order_id NOT IN (SELECT id FROM orders)")
    op.execute("DELETE FROM backorder_events WHERE backorder_id NOT IN (SELECT id FROM backorders)")
    _rebuild_sqlite(keys=True)
