"""Merchant admin at scale: the line's unit price on backorders, and tallies of backorder lines kept by triggers

The Overview summed every waiting line (a join with order_lines for the value and a grouped scan
of ~800,000 rows: over a second on a million lines) and the Backorders list counted its filtered
lines the same way. Now the database keeps the counts as it goes:

* `backorders.unit_price`: a copy of the order line's price, filled on insert from the line and
  updated when the line's price changes (triggers), so a backorder row carries its value.
* `backorder_tally_changes`: every statement that inserts, updates or deletes backorders appends
  what it changed in the counts (lines, units, value, priced lines per key; see
  plugin/db/models.py: _TallyColumns). Append-only: writers never wait on one another, and a
  statement that changes nothing counted (most ETA updates) appends nothing. PostgreSQL: one
  statement-level trigger per operation, aggregating its transition tables; SQLite: row triggers.
* `backorder_tallies`: the changes folded (plugin/admin/tallies.py), one row per key.

Readers add both tables: exact at every moment. SQLite drops a table's triggers with the table,
so a later batch migration that rebuilds `backorders` there must create them again
(tests/test_admin_tallies.py checks that they exist at head).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KEY = "grain, status, promised_eta, slipped, supplier_id, day"
VALUES = "lines, units, value, priced_lines"

# -- PostgreSQL ---------------------------------------------------------------------------------------
# The rows of one side of a statement (`rows`, with `sign` +1 new / -1 old), as tally parts.
PG_PARTS = """
    SELECT shop_id, 1 AS grain, status, promised_eta,
           status IN ('open', 'ready') AND coalesce(current_eta > promised_eta, false) AS slipped,
           NULL::integer AS supplier_id,
           CASE WHEN status = 'shipped' THEN (shipped_at AT TIME ZONE 'UTC')::date
                ELSE (ordered_at AT TIME ZONE 'UTC')::date END AS day,
           sign, quantity, unit_price
      FROM rows WHERE status IN ('open', 'ready', 'shipped')
    UNION ALL
    SELECT shop_id, 2, status, promised_eta,
           status IN ('open', 'ready') AND coalesce(current_eta > promised_eta, false),
           supplier_id, NULL::date, sign, quantity, unit_price
      FROM rows
"""
PG_APPEND = f"""
    INSERT INTO backorder_tally_changes (shop_id, {KEY}, {VALUES})
    SELECT * FROM (
        SELECT shop_id, {KEY}, sum(sign), sum(sign * quantity),
               coalesce(sum(sign * quantity * unit_price), 0), sum(CASE WHEN unit_price IS NULL THEN 0 ELSE sign END)
          FROM parts GROUP BY shop_id, {KEY}
    ) AS changed (shop_id, {KEY}, {VALUES})
    WHERE (lines <> 0 OR units <> 0 OR value <> 0 OR priced_lines <> 0)
      AND EXISTS (SELECT 1 FROM shops WHERE shops.id = changed.shop_id)
"""
PG_FUNCTIONS = f"""
CREATE FUNCTION backorder_tally_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shop check: a shop being deleted cascades to its backorders; nothing to count then.
    IF TG_OP = 'INSERT' THEN
        WITH rows AS (SELECT 1 AS sign, * FROM new_rows), parts AS ({PG_PARTS}) {PG_APPEND};
    ELSIF TG_OP = 'DELETE' THEN
        WITH rows AS (SELECT -1 AS sign, * FROM old_rows), parts AS ({PG_PARTS}) {PG_APPEND};
    ELSE
        WITH rows AS (SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows),
             parts AS ({PG_PARTS}) {PG_APPEND};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION backorder_unit_price_from_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT unit_price INTO NEW.unit_price FROM order_lines WHERE id = NEW.order_line_id;
    RETURN NEW;
END $$;

CREATE FUNCTION order_line_price_to_backorder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE backorders SET unit_price = NEW.unit_price
     WHERE order_line_id = NEW.id AND unit_price IS DISTINCT FROM NEW.unit_price;
    RETURN NULL;
END $$;
"""
PG_TRIGGERS = """
CREATE TRIGGER backorders_unit_price BEFORE INSERT ON backorders
    FOR EACH ROW WHEN (NEW.unit_price IS NULL) EXECUTE FUNCTION backorder_unit_price_from_line();
CREATE TRIGGER order_lines_unit_price AFTER UPDATE OF unit_price ON order_lines
    FOR EACH ROW WHEN (OLD.unit_price IS DISTINCT FROM NEW.unit_price) EXECUTE FUNCTION order_line_price_to_backorder();
CREATE TRIGGER backorders_tally_insert AFTER INSERT ON backorders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backorder_tally_changes();
CREATE TRIGGER backorders_tally_update AFTER UPDATE ON backorders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backorder_tally_changes();
CREATE TRIGGER backorders_tally_delete AFTER DELETE ON backorders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backorder_tally_changes();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS backorders_tally_delete ON backorders;
DROP TRIGGER IF EXISTS backorders_tally_update ON backorders;
DROP TRIGGER IF EXISTS backorders_tally_insert ON backorders;
DROP TRIGGER IF EXISTS order_lines_unit_price ON order_lines;
DROP TRIGGER IF EXISTS backorders_unit_price ON backorders;
DROP FUNCTION IF EXISTS order_line_price_to_backorder();
DROP FUNCTION IF EXISTS backorder_unit_price_from_line();
DROP FUNCTION IF EXISTS backorder_tally_changes();
"""


# -- SQLite -------------------------------------------------------------------------------------------
def _slipped(row: str) -> str:
    return f"({row}.status IN ('open', 'ready') AND coalesce({row}.current_eta > {row}.promised_eta, 0))"


def _day(row: str) -> str:
    return f"(CASE WHEN {row}.status = 'shipped' THEN date({row}.shipped_at) ELSE date({row}.ordered_at) END)"


def _sqlite_part(row: str, sign: int, grain: int) -> str:
    """One row's signed part of one grain (grain 1 only for the statuses it counts)."""
    values = (f"{sign}, {sign} * {row}.quantity, coalesce({sign} * {row}.quantity * {row}.unit_price, 0), "
              f"CASE WHEN {row}.unit_price IS NULL THEN 0 ELSE {sign} END")
    where = f"EXISTS (SELECT 1 FROM shops WHERE shops.id = {row}.shop_id)"
    if grain == 1:
        key = f"1, {row}.status, {row}.promised_eta, {_slipped(row)}, NULL, {_day(row)}"
        where += f" AND {row}.status IN ('open', 'ready', 'shipped')"
    else:
        key = f"2, {row}.status, {row}.promised_eta, {_slipped(row)}, {row}.supplier_id, NULL"
    return (f"INSERT INTO backorder_tally_changes (shop_id, {KEY}, {VALUES}) "
            f"SELECT {row}.shop_id, {key}, {values} WHERE {where};")


def _moved(grain: int) -> str:
    """An update moves the line in this grain: its key or what it counts changed (most ETA
    updates change neither: the current ETA matters only through `slipped`)."""
    same = ["shop_id", "status", "promised_eta", "quantity", "unit_price"] + (["supplier_id"] if grain == 2 else [])
    changed = [f"OLD.{c} IS NOT NEW.{c}" for c in same] + [f"{_slipped('OLD')} IS NOT {_slipped('NEW')}"]
    if grain == 1:
        changed.append(f"{_day('OLD')} IS NOT {_day('NEW')}")
    return " OR ".join(changed)


SQLITE_TRIGGERS = [
    # A new line's price from its order line (SQLite cannot assign NEW in a BEFORE trigger).
    """CREATE TRIGGER backorders_unit_price AFTER INSERT ON backorders WHEN NEW.unit_price IS NULL BEGIN
        UPDATE backorders SET unit_price = (SELECT unit_price FROM order_lines WHERE id = NEW.order_line_id)
         WHERE id = NEW.id; END""",
    """CREATE TRIGGER order_lines_unit_price AFTER UPDATE OF unit_price ON order_lines
        WHEN OLD.unit_price IS NOT NEW.unit_price BEGIN
        UPDATE backorders SET unit_price = NEW.unit_price
         WHERE order_line_id = NEW.id AND unit_price IS NOT NEW.unit_price; END""",
    f"CREATE TRIGGER backorders_tally_insert AFTER INSERT ON backorders BEGIN "
    f"{_sqlite_part('NEW', 1, 1)} {_sqlite_part('NEW', 1, 2)} END",
    f"CREATE TRIGGER backorders_tally_delete AFTER DELETE ON backorders BEGIN "
    f"{_sqlite_part('OLD', -1, 1)} {_sqlite_part('OLD', -1, 2)} END",
    f"CREATE TRIGGER backorders_tally_update_day AFTER UPDATE ON backorders WHEN {_moved(1)} BEGIN "
    f"{_sqlite_part('OLD', -1, 1)} {_sqlite_part('NEW', 1, 1)} END",
    f"CREATE TRIGGER backorders_tally_update_supplier AFTER UPDATE ON backorders WHEN {_moved(2)} BEGIN "
    f"{_sqlite_part('OLD', -1, 2)} {_sqlite_part('NEW', 1, 2)} END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS " + name for name in (
    "backorders_tally_update_supplier", "backorders_tally_update_day", "backorders_tally_delete",
    "backorders_tally_insert", "order_lines_unit_price", "backorders_unit_price")]

# The tallies of the rows already there (the backfill), grouped as the fold groups them.
BACKFILL = f"""
INSERT INTO backorder_tallies (shop_id, {KEY}, {VALUES})
SELECT shop_id, {KEY}, sum(lines), sum(units), sum(value), sum(priced_lines) FROM backorder_tally_changes
 GROUP BY shop_id, {KEY}
"""


def _tally_table(name: str, id_type) -> None:
    op.create_table(name,
    sa.Column('id', id_type, nullable=False),
    sa.Column('grain', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('promised_eta', sa.Date(), nullable=True),
    sa.Column('slipped', sa.Boolean(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('priced_lines', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f(f'fk_{name}_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_shop_id'), ['shop_id'], unique=False)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True))
    op.execute("UPDATE backorders SET unit_price = (SELECT unit_price FROM order_lines WHERE order_lines.id = "
               "backorders.order_line_id) WHERE unit_price IS NULL")

    _tally_table('backorder_tally_changes', sa.BigInteger().with_variant(sa.Integer(), "sqlite"))
    _tally_table('backorder_tallies', sa.Integer())
    op.create_index('uq_backorder_tallies_key', 'backorder_tallies',
                    ['shop_id', 'grain', 'status', 'promised_eta', 'slipped', 'supplier_id', 'day'], unique=True,
                    postgresql_nulls_not_distinct=True)

    if postgres:
        op.execute(PG_FUNCTIONS)
        op.execute(PG_TRIGGERS)
        # The rows already there, counted as one statement inserting them all would count them.
        op.execute(f"WITH rows AS (SELECT 1 AS sign, * FROM backorders), parts AS ({PG_PARTS}) {PG_APPEND}")
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        op.execute(f"INSERT INTO backorder_tally_changes (shop_id, {KEY}, {VALUES}) SELECT * FROM ("
                   + _sqlite_backfill() + ")")
    op.execute(BACKFILL)
    op.execute("DELETE FROM backorder_tally_changes")


def _sqlite_backfill() -> str:
    slipped = "(b.status IN ('open', 'ready') AND coalesce(b.current_eta > b.promised_eta, 0))"
    day = "CASE WHEN b.status = 'shipped' THEN date(b.shipped_at) ELSE date(b.ordered_at) END"
    values = ("1, b.quantity, coalesce(b.quantity * b.unit_price, 0), "
              "CASE WHEN b.unit_price IS NULL THEN 0 ELSE 1 END")
    return (f"SELECT b.shop_id, 1, b.status, b.promised_eta, {slipped}, NULL, {day}, {values} FROM backorders b "
            f"WHERE b.status IN ('open', 'ready', 'shipped') "
            f"UNION ALL SELECT b.shop_id, 2, b.status, b.promised_eta, {slipped}, b.supplier_id, NULL, {values} "
            f"FROM backorders b")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for statement in SQLITE_DROP:
            op.execute(statement)
    op.drop_index('uq_backorder_tallies_key', table_name='backorder_tallies')
    for name in ('backorder_tallies', 'backorder_tally_changes'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_shop_id'))
        op.drop_table(name)
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.drop_column('unit_price')
