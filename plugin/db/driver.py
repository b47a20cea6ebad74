"""Plain SQL on the session's own DBAPI connection, for the few paths that move thousands of rows.

SQLAlchemy's per-value processing and, with long IN lists, the driver's parsing of statements with
thousands of placeholders cost more than the work itself there (the ETA recompute, the outbox rows
of its events). These helpers keep such statements short and write values as the column types do:

* lists are one parameter: PostgreSQL `= ANY(%s)` with an array, SQLite `IN (SELECT value FROM
  json_each(?))` with JSON text; PostgreSQL arrays of ids and dates go as array literals in text
  (`pg_array`), which the server parses: psycopg adapts a list element by element in Python
  (~13 ms for 16,000 ids, against ~1 ms for the literal), and a recompute sends lists of a
  million ids;
* SQLite timestamps are naive-UTC text with microseconds, as `UTCDateTime` stores them; the
  PostgreSQL driver adapts aware datetimes itself.

Driver-level SQL gets none of the ORM session's shop scoping: every statement names its shop.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy.orm import Session

_UTC = timezone.utc


def sqlite_ts_out(value: datetime | None):
    if value is None:
        return None
    return value.astimezone(_UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def pg_array(values: Iterable) -> list | str:
    """A PostgreSQL array parameter: the array literal as text when every element is an int or a
    date (neither needs quoting; None is NULL), else the list as it is for psycopg to adapt.

    Sent as text, the literal's type is the one the statement gives it (`= ANY(%s)` with an
    integer column, `%s::date[]`)."""
    values = values if isinstance(values, list) else list(values)
    kinds = {type(value) for value in values}
    kinds.discard(type(None))
    if kinds <= {int}:  # (or empty, or only NULLs: no element type to get wrong)
        return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"
    if kinds == {date}:
        return "{" + ",".join("NULL" if value is None else value.isoformat() for value in values) + "}"
    return values


class DriverSql:
    """Statements on one DBAPI connection, in its current transaction."""

    def __init__(self, dbapi, postgres: bool):
        self.dbapi = dbapi
        self.postgres = postgres
        self.p = "%s" if postgres else "?"

    @classmethod
    def on(cls, session: Session) -> "DriverSql":
        """On the session's connection, inside its transaction (begun if it was not)."""
        connection = session.connection()
        return cls(connection.connection.driver_connection, connection.dialect.name == "postgresql")

    def _in(self, column: str) -> str:
        return f"{column} = ANY(%s)" if self.postgres else f"{column} IN (SELECT value FROM json_each(?))"

    def _list(self, values: Iterable):
        values = list(values)
        return pg_array(values) if self.postgres else json.dumps(values)

    def _all(self, sql: str, params: Sequence) -> list[tuple]:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def _run(self, sql: str, params: Sequence) -> int:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.rowcount
        finally:
            cursor.close()

    def _many(self, sql: str, rows: Sequence[Sequence]) -> None:
        """executemany: one short statement, pipelined by psycopg on PostgreSQL."""
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _true(self, column: str) -> str:
        return column if self.postgres else f"{column} = 1"

    def _false(self, column: str) -> str:
        return f"NOT {column}" if self.postgres else f"{column} = 0"

    def _ts_out(self, value: datetime):
        return value if self.postgres else sqlite_ts_out(value)
