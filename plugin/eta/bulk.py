"""The recompute's reads and writes, in plain SQL on the session's own connection.

Why not the ORM or Core here: a full recompute of a big shop reads and writes a million rows, and
SQLAlchemy's per-value type processing, per-row parameter dicts and, on PostgreSQL, one UPDATE
statement per row cost several times more than the computing. So these statements go to the
driver directly, in the caller's transaction (`session.connection()`), and:

* every statement names `shop_id` on every table it touches: the shop scoping the ORM session
  adds (`Database.shop_session`) does not apply to driver-level SQL, so it is written out;
* values are converted exactly as the column types do: SQLite stores dates as ISO text and
  timestamps as naive-UTC text with microseconds (SQLAlchemy's formats; `UTCDateTime`), booleans
  as 0/1; PostgreSQL's driver adapts dates and aware datetimes itself;
* id and SKU lists are one parameter (PostgreSQL `= ANY(array)`, SQLite `IN (SELECT value FROM
  json_each(?))`), not thousands of placeholders;
* PostgreSQL writes line updates with COPY into a temporary table and one `UPDATE ... FROM`
  (a few lines, as for one order: arrays in one `UPDATE ... FROM unnest(...)`).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterable, Iterator, Sequence

from sqlalchemy.orm import Session

from plugin.db.driver import DriverSql, pg_array, sqlite_ts_out

ACTIVE_SQL = "('open', 'ready')"
# Indexed columns of backorders that a recompute writes, as bits of Plan.indexed_changes.
STATUS, PROMISED, SUPPLIER = 1, 2, 4
_INDEXED = ((STATUS, "status"), (PROMISED, "promised_eta"), (SUPPLIER, "supplier_id"))
_PLAIN = ("original_eta", "current_eta", "eta_earliest", "eta_likely", "eta_latest", "covered_by", "promise_version",
          "refund_offered_at", "eta_computed_at", "updated_at")
INCOMING_SQL = "('ordered', 'shipped')"

# A backorder line as the recompute reads it (`BulkSql.lines`): positions in each row.
(L_ID, L_VARIANT, L_QTY, L_PRIORITY, L_ORDERED, L_STATUS, L_PROMISED, L_ORIGINAL, L_CURRENT, L_EARLIEST,
 L_LIKELY, L_LATEST, L_COVERED, L_SUPPLIER, L_VERSION, L_REFUND, L_ORDER_LINE, L_PRICE) = range(18)
# An update of a line (`BulkSql.update_lines`): the new values, then the line's row as it was read.
(U_ID, U_STATUS, U_PROMISED, U_ORIGINAL, U_CURRENT, U_EARLIEST, U_LIKELY, U_LATEST, U_COVERED, U_SUPPLIER,
 U_VERSION, U_REFUND, U_ROW) = range(13)

_TALLY_KEY = "grain, status, promised_eta, slipped, supplier_id, day"
_TALLY_VALUES = "lines, units, value, priced_lines"
# Pausing the tally update triggers around a bulk line write (keyed by "is PostgreSQL").
_PAUSE = {False: "INSERT INTO backorder_tally_pauses (shop_id) VALUES (?)",
          True: "SELECT set_config('backorder_desk.tally_paused', 'on', true)"}
_RESUME = {False: "DELETE FROM backorder_tally_pauses WHERE shop_id = ?",
           True: "SELECT set_config('backorder_desk.tally_paused', 'off', true)"}
_day = date.fromisoformat
_timestamp = datetime.fromisoformat
_UTC = timezone.utc


class _Days(dict):
    """ISO text -> date, each distinct day parsed once (a batch holds a few hundred distinct days
    in millions of cells; lookups are cheaper than calls, and equal days share one object)."""

    def __missing__(self, text):
        day = self[text] = _day(text)
        return day


class _IsoDays(dict):
    """date -> ISO text, the other way round."""

    def __missing__(self, day):
        text = self[day] = day.isoformat()
        return text


def _sqlite_day(value):
    return None if value is None else _day(value)


def _sqlite_ts(value):
    if value is None:
        return None
    try:
        return _timestamp(value + "+00:00")  # stored naive UTC (much faster than .replace(tzinfo=))
    except ValueError:
        parsed = _timestamp(value)
        return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)


def _sqlite_day_out(value: date | None):
    return None if value is None else value.isoformat()


def _tally_moves(updates: list[tuple], postgres: bool) -> dict[tuple, list]:
    """What these line updates move in the tallies, as migration 0009's triggers would append it.

    For each line whose tallied key changes: its old part negated and its new part, in both
    grains, summed by (grain, status, promised, slipped, supplier, day); keys that sum to nothing
    are left out.

    The old part is the line's row as the recompute read it, which is the row being updated:
    the write goes through only while the line's variant is at the revision read, and every
    change to a line moves that revision. Recompute lines are open or ready (never shipped), so
    the day is the order's UTC day; quantity and price are not the recompute's to change. Values
    add up as the triggers' sums do: floats on SQLite, exact decimals on PostgreSQL.
    tests/test_admin_tallies.py checks the tallies against the lines after recomputes.
    """
    # Summed by key with the values as read (dates, booleans); converted to what the columns
    # store once per key at the end: SQLite has ISO text for dates and 0/1 for the flag,
    # PostgreSQL's driver adapts dates and booleans.
    active = ("open", "ready")
    parts: dict[tuple, list] = {}
    found = parts.get
    for update in updates:
        row = update[U_ROW]
        status, promised, current, supplier = update[U_STATUS], update[U_PROMISED], update[U_CURRENT], update[U_SUPPLIER]
        old_status, old_promised, old_current, old_supplier = row[L_STATUS], row[L_PROMISED], row[L_CURRENT], row[L_SUPPLIER]
        slipped = status in active and current is not None and promised is not None and current > promised
        old_slipped = (old_status in active and old_current is not None and old_promised is not None
                       and old_current > old_promised)
        if status == old_status and promised == old_promised and slipped == old_slipped and supplier == old_supplier:
            continue  # the line stays where it was counted
        quantity, price = row[L_QTY], row[L_PRICE]
        value, priced = (0, 0) if price is None else (quantity * price, 1)
        ordered = row[L_ORDERED]
        ordered = (ordered.astimezone(_UTC) if postgres else ordered).date()  # SQLite's are read as UTC
        for sign, key in ((-1, (1, old_status, old_promised, old_slipped, None, ordered)),
                          (-1, (2, old_status, old_promised, old_slipped, old_supplier, None)),
                          (1, (1, status, promised, slipped, None, ordered)),
                          (1, (2, status, promised, slipped, supplier, None))):
            counted = found(key)
            if counted is None:
                parts[key] = [sign, sign * quantity, sign * value, sign * priced]
            else:
                counted[0] += sign
                counted[1] += sign * quantity
                counted[2] += sign * value
                counted[3] += sign * priced
    if postgres:
        return {key: counted for key, counted in parts.items() if any(counted)}
    day = _IsoDays({None: None})
    return {(grain, status, day[promised], int(slipped), supplier, day[ordered]): counted
            for (grain, status, promised, slipped, supplier, ordered), counted in parts.items() if any(counted)}


@dataclass
class LineWrite:
    """Line updates made ready for the database (`BulkSql.prepare_lines`, no connection needed)."""

    now: datetime
    count: int
    # The tally moves (`_tally_moves`), None until counted (`count_tallies`): a recompute counts
    # them while the database applies the UPDATE, which needs only the rows below.
    tallies: dict[tuple, list] | None
    updates: list[tuple] | None = None  # (kept until the tallies are counted)
    postgres: bool = False
    # SQLite, few lines: columns bits -> executemany rows. Many: the temporary table's rows and
    # the bits that occur. PostgreSQL: the new values (arrays or COPY).
    groups: dict[int, list[tuple]] | None = None
    table_rows: list[tuple] | None = None
    bits: list[int] = field(default_factory=list)
    value_rows: list[tuple] | None = None
    staged: bool = False  # the rows are in the temporary table

    def count_tallies(self) -> dict[tuple, list]:
        """The tally moves of these updates, counted once (pure Python: no connection needed)."""
        if self.tallies is None:
            self.tallies = _tally_moves(self.updates, self.postgres)
            self.updates = None
        return self.tallies

    @property
    def one_statement(self) -> bool:
        """Applied by single statements (not executemany, which lets go of the GIL and takes it
        back for every row: beside a busy thread, each retake waits for its switch interval)."""
        return self.groups is None


class BulkSql(DriverSql):
    """Driver-level statements of one shop on one DBAPI connection, in its current transaction."""

    def __init__(self, dbapi, postgres: bool, shop_id: int):
        super().__init__(dbapi, postgres)
        self.shop_id = shop_id

    @classmethod
    def of(cls, session: Session, shop_id: int) -> BulkSql:
        """On the session's connection, inside its transaction (begun if it was not)."""
        connection = session.connection()
        return cls(connection.connection.driver_connection, connection.dialect.name == "postgresql", shop_id)

    # -- reading ----------------------------------------------------------------------------------
    def target_variants(self, full: bool) -> list[tuple]:
        """(id, sku) of dirty variants, plus (full) every variant with an open or ready line."""
        p = self.p
        condition = self._true("v.eta_dirty")
        if full:
            condition = (f"({condition} OR EXISTS (SELECT 1 FROM backorders b WHERE b.shop_id = {p} "
                         f"AND b.variant_id = v.id AND b.status IN {ACTIVE_SQL}))")
        params = (self.shop_id, self.shop_id) if full else (self.shop_id,)
        return self._all(f"SELECT v.id, v.sku FROM variants v WHERE {condition} AND v.shop_id = {p}", params)

    def variants(self, skus: Sequence[str], unnamed_ids: Sequence[int]) -> list[tuple]:
        """(id, sku, sellable, revision) of the variants with these SKUs, and of these SKU-less ones."""
        p, rows = self.p, []
        columns = "id, sku, sellable_quantity, eta_revision"
        if skus:
            rows += self._all(f"SELECT {columns} FROM variants WHERE shop_id = {p} AND {self._in('sku')}",
                              (self.shop_id, self._list(skus)))
        if unnamed_ids:
            rows += self._all(f"SELECT {columns} FROM variants WHERE shop_id = {p} AND {self._in('id')} "
                              f"AND sku IS NULL", (self.shop_id, self._list(unnamed_ids)))
        return rows

    def variant_skus(self, variant_ids: Sequence[int]) -> list[tuple]:
        """(id, sku) of these variants."""
        if not variant_ids:
            return []
        return self._all(f"SELECT id, sku FROM variants WHERE shop_id = {self.p} AND {self._in('id')}",
                         (self.shop_id, self._list(variant_ids)))

    LINE_SQL = ("SELECT id, variant_id, quantity, priority, ordered_at, status, promised_eta, original_eta, "
                "current_eta, eta_earliest, eta_likely, eta_latest, covered_by, supplier_id, promise_version, "
                "refund_offered_at, order_line_id, unit_price FROM backorders WHERE shop_id = {p} AND status IN "
                + ACTIVE_SQL + " AND {variant_in}")

    def lines(self, variant_ids: Sequence[int]) -> list[tuple]:
        """Open and ready lines of these variants (positions L_ID ... L_PRICE)."""
        if not variant_ids:
            return []
        sql = self.LINE_SQL.format(p=self.p, variant_in=self._in("variant_id"))
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, (self.shop_id, self._list(variant_ids)))
            if self.postgres:
                return cursor.fetchall()
            rows = cursor.fetchall()
        finally:
            cursor.close()
        day, parse, ts = _Days({None: None}), _timestamp, _sqlite_ts
        try:  # timestamps as UTCDateTime stores them (naive UTC text): parsed inline
            return [(i, v, q, pr, parse(o + "+00:00"), s, day[a], day[b], day[c], day[d], day[e], day[f], cov, sup, ver,
                     ref and parse(ref + "+00:00"), ol, price)
                    for i, v, q, pr, o, s, a, b, c, d, e, f, cov, sup, ver, ref, ol, price in rows]
        except ValueError:  # written some other way
            return [(i, v, q, pr, ts(o), s, day[a], day[b], day[c], day[d], day[e], day[f], cov, sup, ver, ts(ref), ol,
                     price) for i, v, q, pr, o, s, a, b, c, d, e, f, cov, sup, ver, ref, ol, price in rows]

    def platform_ids(self, order_line_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """order line id -> (platform order id, platform line id)."""
        ids = sorted(set(order_line_ids))
        if not ids:
            return {}
        p = self.p
        rows = self._all(f"SELECT ol.id, o.platform_order_id, ol.platform_line_id FROM order_lines ol "
                         f"JOIN orders o ON o.id = ol.order_id WHERE ol.shop_id = {p} AND o.shop_id = {p} "
                         f"AND {self._in('ol.id')}", (self.shop_id, self.shop_id, self._list(ids)))
        return {line_id: (order, line) for line_id, order, line in rows}

    def order_ids(self, order_line_ids: Iterable[int]) -> dict[int, int]:
        """order line id -> order id."""
        ids = sorted(set(order_line_ids))
        if not ids:
            return {}
        return dict(self._all(f"SELECT id, order_id FROM order_lines WHERE shop_id = {self.p} AND {self._in('id')}",
                              (self.shop_id, self._list(ids))))

    def lots(self, skus: Sequence[str]) -> list[tuple]:
        """(id, sku, location, quantity, expected date, supplier id, status) of incoming lots."""
        if not skus:
            return []
        rows = self._all(f"SELECT id, sku, location, quantity, expected_date, supplier_id, status FROM supply_lines "
                         f"WHERE shop_id = {self.p} AND status IN {INCOMING_SQL} AND {self._in('sku')}",
                         (self.shop_id, self._list(skus)))
        if self.postgres:
            return rows
        return [(i, s, loc, q, _sqlite_day(e), sup, st) for i, s, loc, q, e, sup, st in rows]

    def suppliers(self) -> list[tuple]:
        """(id, lead time, spread, handling days, active) of the shop's suppliers."""
        return self._all(f"SELECT id, lead_time_days, lead_time_spread_days, handling_days, active FROM suppliers "
                         f"WHERE shop_id = {self.p}", (self.shop_id,))

    def supplier_skus(self, skus: Sequence[str]) -> list[tuple]:
        """(sku, role, supplier id) for these SKUs."""
        if not skus:
            return []
        return self._all(f"SELECT sku, role, supplier_id FROM supplier_skus WHERE shop_id = {self.p} "
                         f"AND {self._in('sku')}", (self.shop_id, self._list(skus)))

    def lateness_history(self) -> list[tuple]:
        """(supplier, promised, received or None, number of PO lines) over the shop's history.

        Read in the order of ix_supply_lines_history, whose WHERE this one repeats word for word."""
        rows = self._all(f"SELECT supplier_id, promised_date, received_date, count(*) FROM supply_lines "
                         f"WHERE shop_id = {self.p} AND status <> 'cancelled' AND promised_date IS NOT NULL "
                         f"GROUP BY supplier_id, promised_date, received_date", (self.shop_id,))
        if self.postgres:
            return rows
        return [(s, _day(p), _sqlite_day(r), n) for s, p, r, n in rows]

    def history_marker(self) -> int:
        """The latest sync run that changed the PO history (0: none); ix_sync_runs_history, whose
        WHERE this one repeats, makes it one index probe."""
        found = self._all(f"SELECT max(id) FROM sync_runs WHERE shop_id = {self.p} AND history_changed",
                          (self.shop_id,))[0][0]
        return found or 0

    def stored_lateness(self, marker: int, today: date, version: int) -> str | None:
        """The stored fit's state (JSON text) if it was fitted on this history for this day."""
        rows = self._all(f"SELECT state FROM lateness_fits WHERE shop_id = {self.p} AND history_run_id = {self.p} "
                         f"AND fitted_for = {self.p} AND fit_version = {self.p}",
                         (self.shop_id, marker, today if self.postgres else _sqlite_day_out(today), version))
        return rows[0][0] if rows else None

    def revisions(self, variant_ids: Sequence[int], *, lock: bool) -> dict[int, int]:
        """variant id -> eta_revision, rows locked (PostgreSQL) when `lock`: SQLite's writer is alone."""
        if not variant_ids:
            return {}
        sql = (f"SELECT id, eta_revision FROM variants WHERE shop_id = {self.p} AND {self._in('id')} ORDER BY id"
               + (" FOR UPDATE" if lock and self.postgres else ""))
        return dict(self._all(sql, (self.shop_id, self._list(variant_ids))))

    # -- writing ----------------------------------------------------------------------------------
    # SQLite: from this many lines on, one UPDATE ... FROM a temporary table per combination of
    # indexed columns instead of one UPDATE statement per line (executemany). The update triggers
    # and the foreign key on supplier_id make every statement a sub-transaction with its own
    # statement journal, which copies each page it writes (the line's and its index entries')
    # before writing it: per line, that was half of the statement's time. One statement journals
    # each page once. Measured on 200,000 lines (2 cores): 14.3 us a line by executemany, 2.3 to
    # fill the table plus 6.3 for the UPDATE. Below it (an order's few lines) the table is not
    # worth its set-up.
    SQLITE_FROM_TABLE_ROWS = 2000
    COPY_FROM_ROWS = 2000  # PostgreSQL: below this, arrays in one statement beat a temporary table

    def update_lines(self, updates: list[tuple], now: datetime, indexed_changes: dict[int, int] | None = None) -> None:
        """updates: (id, status, promised, original, current, earliest, likely, latest, covered_by,
        supplier id, promise version, refund offered at, the line's row as read), sorted by id (pages
        are written in table order, each once). `indexed_changes`: id -> which of STATUS | PROMISED
        | SUPPLIER change (absent: none of them).

        The tally triggers (migration 0009: row triggers on SQLite, up to four INSERTs for each
        line whose key moves; a statement trigger grouping the transition tables on PostgreSQL)
        are paused for this statement (migrations 0010, 0013) and the moves appended once, summed
        by key (`_tally_moves`). The pause row never outlives this transaction.

        In three steps, which a big recompute runs apart (plugin/eta/recompute.py `_write_chunk`):
        `prepare_lines` (pure Python), `begin_line_write` (pause, stage the rows),
        `apply_line_write` (the UPDATE statements), `end_line_write` (resume, tally moves).
        """
        if not updates:
            return
        write = self.prepare_lines(updates, now, indexed_changes or {}, self.postgres)
        self.begin_line_write(write)
        applied = False
        try:
            self.apply_line_write(write)
            applied = True
        finally:  # even when the caller goes on after a failure: no statement after this one is paused
            self.end_line_write(write, applied=applied)

    @classmethod
    def prepare_lines(cls, updates: list[tuple], now: datetime, changes: dict[int, int], postgres: bool) -> LineWrite:
        """Everything of a line write that needs no connection but the tally moves: the rows as
        the statements take them (`LineWrite.count_tallies` counts the moves, by `end_line_write`
        at the latest)."""
        write = LineWrite(now, len(updates), None, updates, postgres)
        if postgres:
            write.value_rows = [row[:U_ROW] for row in updates]
            return write
        day, ts, at, get = _IsoDays({None: None}), sqlite_ts_out, sqlite_ts_out(now), changes.get
        if len(updates) >= cls.SQLITE_FROM_TABLE_ROWS:
            write.table_rows = [(i, get(i, 0), st, day[pr], day[orig], day[cur], day[e], day[li], day[la], cov, sup,
                                 ver, ref and ts(ref))
                                for i, st, pr, orig, cur, e, li, la, cov, sup, ver, ref, _row in updates]
            write.bits = sorted({row[1] for row in write.table_rows})
            return write
        # SQLite rewrites the entries of every index holding a column named in SET, changed or
        # not, so status, promised_eta and supplier_id (all indexed) are named only on the lines
        # where they change: one statement per combination that occurs.
        groups: dict[int, list[tuple]] = {}
        for i, st, pr, orig, cur, e, li, la, cov, sup, ver, ref, _row in updates:
            bits = get(i, 0)
            keyed = ((st,) if bits & STATUS else ()) + ((day[pr],) if bits & PROMISED else ()) + \
                ((sup,) if bits & SUPPLIER else ())
            row = keyed + (day[orig], day[cur], day[e], day[li], day[la], cov, ver, ref and ts(ref), at, at, i)
            group = groups.get(bits)
            if group is None:
                groups[bits] = [row]
            else:
                group.append(row)
        write.groups = groups
        return write

    def begin_line_write(self, write: LineWrite) -> None:
        """Pause the tally triggers and stage the rows (temporary table; COPY on PostgreSQL)."""
        cursor = self.dbapi.cursor()
        try:
            # SQLite: a row of backorder_tally_pauses, seen by its shop's update triggers (one
            # writer: nobody else sees it). PostgreSQL: a setting local to this transaction, so
            # concurrent writers of the shop neither see it nor wait for it.
            cursor.execute(_PAUSE[self.postgres], self._pause_params)
            try:
                if self.postgres and write.count >= self.COPY_FROM_ROWS:
                    # Dropped at commit; a second chunk in one transaction finds it and empties it.
                    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS eta_line_updates ({self._U_COLUMNS}) "
                                   f"ON COMMIT DROP")
                    cursor.execute("TRUNCATE eta_line_updates")
                    with cursor.copy("COPY eta_line_updates FROM STDIN") as copy:
                        for row in write.value_rows:
                            copy.write_row(row)
                    write.staged = True
                elif write.table_rows is not None:
                    columns = ", ".join(self._U_NAMES[1:])
                    # Created once per connection (a pooled one keeps it, empty); IF NOT EXISTS
                    # changes no schema when it is there.
                    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS eta_line_updates (id INTEGER PRIMARY KEY, "
                                   f"bits INTEGER, {columns})")
                    cursor.execute("DELETE FROM eta_line_updates")
                    write.staged = True
                    cursor.executemany(f"INSERT INTO eta_line_updates (id, bits, {columns}) VALUES "
                                       f"({', '.join('?' * (1 + len(self._U_NAMES)))})", write.table_rows)
                    write.table_rows = None  # (memory: the table has them)
            except BaseException:
                self.end_line_write(write, applied=False)
                raise
        finally:
            cursor.close()

    def apply_line_write(self, write: LineWrite) -> None:
        """The UPDATE statements. When `write.one_statement`, each is one step of the driver, which
        lets go of the GIL for all of it: the recompute prepares its next chunk meanwhile."""
        cursor = self.dbapi.cursor()
        try:
            if self.postgres:
                self._apply_postgres(cursor, write)
            elif write.groups is None:
                at = sqlite_ts_out(write.now)
                for bits in write.bits:
                    cursor.execute(self.sqlite_update_from_table(bits), (at, at, bits, self.shop_id))
            else:
                for bits, rows in sorted(write.groups.items()):
                    named = [column for flag, column in _INDEXED if bits & flag]
                    columns = ", ".join(f"{column} = ?" for column in named + list(_PLAIN))
                    cursor.executemany(f"UPDATE backorders SET {columns} WHERE id = ? AND shop_id = {self.shop_id:d}",
                                       rows)
        finally:
            cursor.close()

    @staticmethod
    def sqlite_update_from_table(bits: int) -> str:
        """The UPDATE of the staged lines whose changed indexed columns are `bits`; parameters:
        eta_computed_at, updated_at, bits, shop id."""
        plain = [column for column in _PLAIN if column not in ("eta_computed_at", "updated_at")]
        assignments = ", ".join(f"{column} = u.{column}" for column in [c for flag, c in _INDEXED if bits & flag] + plain)
        # +shop_id: else the planner walks all the shop's lines (an index on shop_id) and looks
        # each up in the table; this way it walks the table and finds each line by id
        # (tests/test_eta_read_plans.py).
        return (f"UPDATE backorders SET {assignments}, eta_computed_at = ?, updated_at = ? FROM eta_line_updates u "
                f"WHERE backorders.id = u.id AND u.bits = ? AND +backorders.shop_id = ?")

    def end_line_write(self, write: LineWrite, *, applied: bool) -> None:
        """Resume the tally triggers; append the tally moves when the UPDATE went through."""
        cursor = self.dbapi.cursor()
        try:
            try:
                cursor.execute(_RESUME[self.postgres], self._pause_params)
            finally:
                if write.staged and not self.postgres:
                    write.staged = False
                    cursor.execute("DELETE FROM eta_line_updates")
            if applied:
                self._append_tallies(cursor, write.count_tallies())
        finally:
            cursor.close()

    @property
    def _pause_params(self) -> tuple:
        return () if self.postgres else (self.shop_id,)

    def _append_tallies(self, cursor, tallies: dict[tuple, list]) -> None:
        shop = self.shop_id
        if tallies and self.postgres:  # thousands of keys: one statement, not one each
            columns = [list(column) for column in zip(*(key + tuple(counted) for key, counted in tallies.items()))]
            columns[8] = [Decimal(value) for value in columns[8]]  # one element type: ints where nothing is priced
            columns = [pg_array(column) for column in columns]
            cursor.execute(f"INSERT INTO backorder_tally_changes (shop_id, {_TALLY_KEY}, {_TALLY_VALUES}) "
                           f"SELECT %s, t.* FROM unnest(%s::integer[], %s::varchar[], %s::date[], %s::boolean[], "
                           f"%s::integer[], %s::date[], %s::integer[], %s::integer[], %s::numeric[], "
                           f"%s::integer[]) AS t", (shop, *columns))
        elif tallies:
            cursor.executemany(f"INSERT INTO backorder_tally_changes (shop_id, {_TALLY_KEY}, {_TALLY_VALUES}) "
                               f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [(shop, *key, *counted) for key, counted in tallies.items()])

    _SET_FROM_U = ("status = u.status, promised_eta = u.promised_eta, original_eta = u.original_eta, "
                   "current_eta = u.current_eta, eta_earliest = u.eta_earliest, eta_likely = u.eta_likely, "
                   "eta_latest = u.eta_latest, covered_by = u.covered_by, supplier_id = u.supplier_id, "
                   "promise_version = u.promise_version, refund_offered_at = u.refund_offered_at, "
                   "eta_computed_at = %s, updated_at = %s")
    _U_COLUMNS = ("id integer, status varchar(20), promised_eta date, original_eta date, current_eta date, "
                  "eta_earliest date, eta_likely date, eta_latest date, covered_by varchar(20), supplier_id integer, "
                  "promise_version integer, refund_offered_at timestamptz")
    _U_NAMES = tuple(column.split()[0] for column in _U_COLUMNS.split(", "))  # the staged columns, id first

    def _apply_postgres(self, cursor, write: LineWrite) -> None:
        now = write.now
        if not write.staged:  # an order's few lines: one statement
            names = ", ".join(self._U_NAMES)
            types = [column.split(" ", 1)[1] for column in self._U_COLUMNS.split(", ")]
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            cursor.execute(f"UPDATE backorders b SET {self._SET_FROM_U} FROM unnest({arrays}) AS u({names}) "
                           f"WHERE b.id = u.id AND b.shop_id = %s",
                           (now, now, *(pg_array(column) for column in zip(*write.value_rows)), self.shop_id))
            return
        cursor.execute(f"UPDATE backorders b SET {self._SET_FROM_U} FROM eta_line_updates u "
                       f"WHERE b.id = u.id AND b.shop_id = %s", (now, now, self.shop_id))

    def insert_events(self, events: list[tuple], now: datetime) -> None:
        """events: (backorder id, kind, promise version, old date, new date); stored once per
        (line, kind, promise version)."""
        if not events:
            return
        cursor = self.dbapi.cursor()
        try:
            if self.postgres:
                columns = list(zip(*events))
                cursor.execute(
                    "INSERT INTO backorder_events (shop_id, backorder_id, kind, promise_version, old_date, new_date, "
                    "created_at) SELECT %s, e.backorder_id, e.kind, e.promise_version, e.old_date, e.new_date, %s "
                    "FROM unnest(%s::integer[], %s::varchar[], %s::integer[], %s::date[], %s::date[]) "
                    "AS e(backorder_id, kind, promise_version, old_date, new_date) "
                    "ON CONFLICT (backorder_id, kind, promise_version) DO NOTHING",
                    (self.shop_id, now, *(pg_array(column) for column in columns)))
            else:
                day, at = _sqlite_day_out, sqlite_ts_out(now)
                cursor.executemany(
                    "INSERT INTO backorder_events (shop_id, backorder_id, kind, promise_version, old_date, new_date, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (backorder_id, kind, promise_version) DO NOTHING",
                    [(self.shop_id, b, k, v, day(o), day(n), at) for b, k, v, o, n in events])
        finally:
            cursor.close()

    def mark_orders(self, order_ids: Sequence[int], now: datetime) -> None:
        """Rows of order_marks for the push job (orders already marked are left as they are)."""
        if not order_ids:
            return
        if self.postgres:
            self._run("INSERT INTO order_marks (shop_id, order_id, marked_at) SELECT %s, o, %s FROM unnest(%s::integer[]) "
                      "AS o ON CONFLICT DO NOTHING", (self.shop_id, now, self._list(order_ids)))
        else:  # ("WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT)
            self._run("INSERT INTO order_marks (shop_id, order_id, marked_at) SELECT ?, value, ? FROM json_each(?) "
                      "WHERE true ON CONFLICT DO NOTHING", (self.shop_id, sqlite_ts_out(now), self._list(order_ids)))

    def mark_orders_of_lines(self, order_line_ids: Sequence[int], now: datetime) -> int:
        """Mark the orders of these order lines for the push job, looked up in the statement
        itself (a full recompute marks most orders: their ids need not come through Python).
        Returns how many orders were newly marked (ones already marked are left as they are)."""
        if not order_line_ids:
            return 0
        return self._run(self.mark_orders_of_lines_sql(),
                         (self.shop_id, self._ts_out(now), self.shop_id, self._list(order_line_ids)))

    def mark_orders_of_lines_sql(self) -> str:
        p = self.p
        # SQLite: +shop_id, else each line is found through the index on shop_id and then in the table.
        shop = "shop_id" if self.postgres else "+shop_id"
        return (f"INSERT INTO order_marks (shop_id, order_id, marked_at) SELECT DISTINCT {p}, order_id, {p} "
                f"FROM order_lines WHERE {shop} = {p} AND {self._in('id')} ON CONFLICT DO NOTHING")

    def settle_variants(self, variant_ids: Sequence[int], now: datetime, *, bump_revisions: bool) -> None:
        """eta_dirty off (and, for an in-transaction recompute, the revision bumped)."""
        if not variant_ids:
            return
        false = "false" if self.postgres else "0"
        if bump_revisions:
            self._run(f"UPDATE variants SET eta_dirty = {false}, eta_revision = eta_revision + 1, "
                      f"updated_at = {self.p} WHERE shop_id = {self.p} AND {self._in('id')}",
                      (self._ts_out(now), self.shop_id, self._list(variant_ids)))
        else:
            self._run(f"UPDATE variants SET eta_dirty = {false}, updated_at = {self.p} WHERE shop_id = {self.p} "
                      f"AND {self._in('id')} AND {self._true('eta_dirty')}",
                      (self._ts_out(now), self.shop_id, self._list(variant_ids)))


# SQLite's page cache for a chunk's write: the default 2 MB holds a sliver of a big shop's lines
# and their indexes, so updating a hundred thousand lines re-read index pages from the OS again
# and again (a third of the write's time). Grown for the write only: pooled connections keep
# their cache, and the rest of the app needs no more than the default.
BULK_WRITE_CACHE_KIB = 256 * 1024
BULK_WRITE_WORK_MEM_MB = 64


@contextmanager
def bulk_write_cache(sql: BulkSql, kib: int = BULK_WRITE_CACHE_KIB) -> Iterator[None]:
    """SQLite: a bigger page cache on this connection while the caller writes. PostgreSQL: more
    memory for this transaction's hash joins (`work_mem`, local to it): the UPDATE of a chunk
    joins 250,000 staged rows to the lines, and with the server's default 4 MB its hash table
    went to disk in 16 batches."""
    if sql.postgres:
        sql._run(f"SET LOCAL work_mem = '{BULK_WRITE_WORK_MEM_MB:d}MB'", ())
        yield
        return
    previous = sql._all("PRAGMA cache_size", ())[0][0]
    sql._run(f"PRAGMA cache_size = {-int(kib)}", ())
    try:
        yield
    finally:  # dirty pages stay until the commit; the clean ones beyond the old size are let go
        sql._run(f"PRAGMA cache_size = {int(previous)}", ())


# SQLite's page cache for a recompute's batch reads (`batch_reader`): a full run reads every
# line of the shop through the (variant, status) index, batch after batch, and each batch's lines
# lie on nearly every page of backorders; with the default 2 MB each batch read them from the OS
# again (a full run 16.0 -> 13.1 s with nothing to write, on 1,000,000 lines). It fills only with
# what is read (~200 MB there) and is given back when the recompute has read its batches.
BATCH_READ_CACHE_KIB = 512 * 1024


@contextmanager
def batch_reader(db, cache_kib: int = BATCH_READ_CACHE_KIB) -> Iterator[object]:
    """One pooled connection for all of a recompute's batch reads (`read_snapshot(..., reader)`),
    with a page cache of `cache_kib` on SQLite while it is held (PostgreSQL: as it is)."""
    raw = db.engine.raw_connection()
    try:
        if db.dialect == "postgresql":
            yield raw
            return
        dbapi = raw.driver_connection
        previous = dbapi.execute("PRAGMA cache_size").fetchone()[0]
        dbapi.execute(f"PRAGMA cache_size = {-int(cache_kib)}")
        try:
            yield raw
        finally:  # the pool keeps the connection, not its pages
            dbapi.execute(f"PRAGMA cache_size = {int(previous)}")
    finally:
        raw.close()


@contextmanager
def read_snapshot(db, shop_id: int, reader=None) -> Iterator[BulkSql]:
    """A read-only transaction for a batch's inputs, on a pooled connection of its own (or on
    `reader`, from `batch_reader`, whose cache keeps what earlier batches read).

    Not a `Database.shop_session`: on SQLite every session begins IMMEDIATE, i.e. takes the one
    write lock, and a recompute reading a batch would hold up every writer (webhook ingest, the
    order handler) for as long as it reads. A plain (deferred) BEGIN reads a WAL snapshot and
    locks nothing, so it also runs alongside the recompute's own write of the previous batch.
    Every statement of BulkSql names the shop, as the session would have added.
    """
    raw = reader if reader is not None else db.engine.raw_connection()
    dbapi = raw.driver_connection
    postgres = db.dialect == "postgresql"
    try:
        if not postgres:
            dbapi.execute("BEGIN")  # the app's SQLite connections run in autocommit mode
        yield BulkSql(dbapi, postgres, shop_id)
    finally:
        try:
            dbapi.rollback()  # nothing was written
        finally:
            if reader is None:
                raw.close()
