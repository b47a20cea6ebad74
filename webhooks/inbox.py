"""The durable inbox: store a verified delivery once, keyed by the platform's event identity.

Deliveries are group-committed. A request thread queues its row; whichever thread finds no write
in progress takes everything queued (its own row and those of the threads that arrived meanwhile)
and writes it in one transaction: one INSERT ... ON CONFLICT DO NOTHING ... RETURNING, one commit.
Every thread answers only after the commit that holds its row, so a 200 still means "stored".
Under load one commit serves many deliveries (a commit costs far more than a row); alone, a
delivery is written at once by its own thread. On PostgreSQL the INSERT runs in autocommit: one
statement is atomic by itself, so it is written and committed in a single round trip.

The statement goes to the driver itself (psycopg, sqlite3), not through SQLAlchemy's execution
machinery, whose per-statement work (compiling, parameter processing, events, the result object)
cost more CPU than the database's own insert and commit on the request path. The values are
converted by the columns' own SQLAlchemy bind processors, so a row is stored exactly as the ORM
stores it.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from connectors.base import WebhookEnvelope
from plugin.db import Database
from plugin.db.models import WebhookEvent

log = logging.getLogger(__name__)

_events = WebhookEvent.__table__
# Headers worth keeping for the handler and for support; never the signature itself.
_KEPT_HEADER_PREFIXES = ("x-shopify-", "x-wc-webhook-")
_DROPPED_HEADERS = {"x-shopify-hmac-sha256", "x-wc-webhook-signature"}
# Rows per transaction: enough for every request thread of a process, small enough to stay quick.
MAX_BATCH = 64


def kept_headers(headers) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        name = name.lower()  # one call per header: this runs for every delivery
        if name.startswith(_KEPT_HEADER_PREFIXES) and name not in _DROPPED_HEADERS:
            kept[name] = value
    return kept


def event_row(platform: str, envelope: WebhookEnvelope, headers, body: bytes, now: datetime | None = None) -> dict[str, Any]:
    """The inbox row of a verified delivery, as it will be inserted.

    A body that is not UTF-8 text, or holds a NUL character, cannot be JSON (nor be stored as text
    on PostgreSQL): it is kept readable and stored as rejected, with the reason, instead of failing
    the request and being redelivered for days.
    """
    now = now or datetime.now(timezone.utc)
    topic = envelope.topic
    dedupe_key = envelope.dedupe_key or "sha256:" + hashlib.sha256(topic.encode() + b"\0" + body).hexdigest()
    if len(dedupe_key) > _column_length("dedupe_key"):
        dedupe_key = "sha256:" + hashlib.sha256(dedupe_key.encode()).hexdigest()
    reason = None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = body.decode("utf-8", errors="replace")
        reason = f"unparsable JSON body: not UTF-8 ({exc.reason} at byte {exc.start})"
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
        reason = reason or "unparsable JSON body: contains a NUL character"
    return dict(
        platform=platform,
        dedupe_key=dedupe_key,
        # Longer values than the columns hold are not a topic or shop we know: the worker ignores them.
        topic=topic[:_column_length("topic")],
        shop_domain=envelope.shop_domain[:_column_length("shop_domain")] if envelope.shop_domain else envelope.shop_domain,
        status="pending" if reason is None else "rejected",
        reason=reason,
        attempts=0,
        next_attempt_at=now,
        received_at=now,
        processed_at=None if reason is None else now,
        headers=kept_headers(headers),
        body=text,
    )


def _column_length(name: str) -> int:
    return _events.c[name].type.length


@dataclass(eq=False)
class _Delivery:
    row: dict[str, Any]
    # Signalled (under the writer's lock) when the delivery is written, or when it is next to write.
    turn: threading.Condition = field(default_factory=threading.Condition)
    finished: bool = False
    stored: bool = False
    error: BaseException | None = None
    key: tuple[str, str] = field(init=False)

    def __post_init__(self):
        self.key = (self.row["platform"], self.row["dedupe_key"])


class InboxWriter:
    """Stores deliveries, group-committing those that arrive together (see the module docstring).

    One per process and database (the web app keeps it in `runtime.extras`); thread-safe. At most
    one transaction is in flight per writer, so it keeps one connection for itself: no pool
    checkout and liveness ping per batch. A connection that turns out dead is replaced and the
    batch written again (the insert is idempotent). Closed with the engine (`Database.dispose`).
    """

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH):
        self.db = db
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Delivery] = deque()
        self._writing = False
        self._conn: Connection | None = None
        self._conn_pid: int | None = None
        insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        self._insert = (
            insert(_events)
            .on_conflict_do_nothing(index_elements=["platform", "dedupe_key"])
            .returning(_events.c.platform, _events.c.dedupe_key)  # rowcount says nothing per row
        )
        # psycopg and sqlite3 get the same statement from us directly (see the module docstring).
        driver = db.engine.dialect.driver
        self._native = (db.dialect, driver) in (("postgresql", "psycopg"), ("sqlite", "pysqlite"))
        self._placeholder = "?" if db.is_sqlite else "%s"
        self._processors = _bind_processors(db.engine.dialect) if db.is_sqlite else None
        self._native_sql: dict[int, str] = {}
        database = db.engine.url.database if db.is_sqlite else None
        self._lock_path = f"{database}-inbox.lock" if database and database != ":memory:" else None

    def store(self, platform: str, envelope: WebhookEnvelope, headers, body: bytes) -> bool:
        """Insert the event unless its dedupe key is already there. True when this call stored it.

        Returns once the row is committed; raises if it could not be (the platform will redeliver).
        """
        delivery = _Delivery(event_row(platform, envelope, headers, body), threading.Condition(self._lock))
        with self._lock:
            self._queue.append(delivery)
            while not delivery.finished:
                if self._writing:
                    delivery.turn.wait()
                    continue
                # Nobody is writing: this thread writes everything queued so far, in arrival order.
                self._writing = True
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
                self._lock.release()
                try:
                    self._write(batch)
                finally:
                    self._lock.acquire()
                    self._writing = False
                    # Wake exactly who needs it: the written deliveries, and the oldest waiting one,
                    # which writes the next batch.
                    for written in batch:
                        written.turn.notify()
                    if self._queue:
                        self._queue[0].turn.notify()
        if delivery.error is not None:
            raise delivery.error
        return delivery.stored

    def close(self) -> None:
        """Give the writer's connection back (also done when the engine is disposed)."""
        if event.contains(self.db.engine, "engine_disposed", self._on_engine_disposed):
            event.remove(self.db.engine, "engine_disposed", self._on_engine_disposed)
        self._close_connection()

    def _on_engine_disposed(self, _engine) -> None:
        self._close_connection()  # the listener stays: a later delivery opens a new connection

    def _close_connection(self) -> None:
        with self._lock:
            if self._writing:
                return  # shutting down mid-batch: the batch's own error handling closes it
            conn, self._conn = self._conn, None
        if conn is not None and self._conn_pid == os.getpid():
            conn.close()

    def _write(self, batch: list[_Delivery]) -> None:
        try:
            try:
                self._insert_rows(batch)
            except _FAILS_EVERY_ROW:
                raise  # the database is unreachable or busy: every delivery fails alike
            except Exception:
                if len(batch) == 1:
                    raise
                # One row the database refuses must not fail the others: store them one by one.
                log.warning("inbox batch refused; storing its deliveries one by one", exc_info=True,
                            extra={"deliveries": len(batch)})
                for delivery in batch:
                    try:
                        self._insert_rows([delivery])
                    except Exception as exc:
                        delivery.error = exc
                        delivery.finished = True
        except BaseException as exc:
            for delivery in batch:
                if not delivery.finished:
                    delivery.error = exc
                    delivery.finished = True
            if not isinstance(exc, Exception):
                raise

    def _insert_rows(self, batch: list[_Delivery]) -> None:
        # A redelivery may arrive while the first delivery waits in the same batch: insert one row
        # per key; the first delivery of a key is the one that stored it, if any did.
        first: dict[tuple[str, str], _Delivery] = {}
        for delivery in batch:
            first.setdefault(delivery.key, delivery)
        rows = [d.row for d in first.values()]
        for attempt in (1, 2):
            conn = self._connection()
            try:
                inserted = self._execute(conn, rows)
                break
            except BaseException as exc:
                lost = _connection_lost(conn, exc)
                self._drop_connection()
                # A connection the database closed while idle (restart, failover): what the pool's
                # pre-ping would have caught. Once more on a new one; ON CONFLICT makes it safe.
                if attempt == 1 and lost:
                    continue
                raise
        for delivery in batch:
            delivery.stored = first[delivery.key] is delivery and delivery.key in inserted
            delivery.finished = True

    def _execute(self, conn: Connection, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """INSERT the rows in one statement; the (platform, dedupe_key) of those that were new."""
        if not self._native:
            with self._sqlite_turn(), conn.begin():
                return set(map(tuple, conn.execute(self._insert, rows).all()))
        params: list[Any] = []
        if self._processors is None:
            for row in rows:
                for column in _COLUMNS:
                    params.append(json.dumps(row[column]) if column == "headers" else row[column])
        else:
            for row in rows:
                for column, process in zip(_COLUMNS, self._processors):
                    value = row[column]
                    params.append(value if process is None or value is None else process(value))
        sql = self._native_statement(len(rows))
        if not self.db.is_sqlite:
            # Autocommit (see _connection): the statement is its own transaction.
            with conn.connection.dbapi_connection.cursor() as cursor:
                cursor.execute(sql, params)
                return set(map(tuple, cursor.fetchall()))
        # sqlite3 runs in autocommit mode (plugin/db): the transaction is ours to open and close,
        # with BEGIN IMMEDIATE as every other writer does.
        with self._sqlite_turn():
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    cursor.execute(sql, params)
                    inserted = set(map(tuple, cursor.fetchall()))  # RETURNING rows come before COMMIT
                    cursor.execute("COMMIT")
                except BaseException:
                    try:
                        cursor.execute("ROLLBACK")
                    except sqlite3.Error:  # no transaction left to roll back (SQLite ended it)
                        pass
                    raise
            finally:
                cursor.close()
        return inserted

    @contextmanager
    def _sqlite_turn(self):
        """On a SQLite file, take turns with the other processes' inbox writers through a file lock.

        SQLite's single write lock (BEGIN IMMEDIATE) is waited for by polling: sleeps of 1, 2, 5,
        10 ... ms. Under load two web processes then mostly sleep past each other's short write.
        A blocking flock hands the turn over the moment the other process commits.
        """
        if self._lock_path is None:
            yield
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _native_statement(self, count: int) -> str:
        sql = self._native_sql.get(count)
        if sql is None:
            values = "(" + ", ".join([self._placeholder] * len(_COLUMNS)) + ")"
            sql = self._native_sql[count] = (
                f"INSERT INTO {_events.name} ({', '.join(_COLUMNS)}) VALUES {', '.join([values] * count)} "
                "ON CONFLICT (platform, dedupe_key) DO NOTHING RETURNING platform, dedupe_key")
        return sql

    def _connection(self) -> Connection:
        if self._conn is not None and self._conn_pid != os.getpid():
            # Inherited through fork: the socket is the parent's. Never use it, never close it.
            self._inherited = self._conn
            self._conn = None
        if self._conn is None:
            conn = self.db.engine.connect()
            if not self.db.is_sqlite:
                # One INSERT statement is atomic by itself: in autocommit it is written and committed
                # in one round trip instead of three (BEGIN, INSERT, COMMIT). SQLite keeps its
                # BEGIN IMMEDIATE (plugin/db): in-process, a transaction costs no round trips.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
            self._conn_pid = os.getpid()
            if not event.contains(self.db.engine, "engine_disposed", self._on_engine_disposed):
                event.listen(self.db.engine, "engine_disposed", self._on_engine_disposed)
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken; the pool discards it
                log.debug("closing a failed inbox connection", exc_info=True)


# The inbox columns event_row fills, in the order of the native INSERT.
_COLUMNS = ("platform", "dedupe_key", "topic", "shop_domain", "status", "reason", "attempts", "next_attempt_at",
            "received_at", "processed_at", "headers", "body")
# Errors that say nothing about one row: storing the batch's rows one by one would not help.
_FAILS_EVERY_ROW = (OperationalError, InterfaceError, DisconnectionError, psycopg.OperationalError,
                    psycopg.InterfaceError, sqlite3.OperationalError, sqlite3.InterfaceError)


def _bind_processors(dialect) -> list:
    """Each inbox column's SQLAlchemy bind processor for `dialect` (None: the value goes as it is)."""
    return [_events.c[column].type.bind_processor(dialect) for column in _COLUMNS]


def _connection_lost(conn: Connection, exc: BaseException) -> bool:
    """Did `exc` come from a connection the database had closed (so a new one may succeed)?"""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated
    if not isinstance(exc, psycopg.OperationalError):
        return False
    try:
        dbapi = conn.connection.dbapi_connection
    except Exception:
        return True
    return dbapi is None or dbapi.closed or dbapi.broken


def store_event(db: Database, platform: str, envelope: WebhookEnvelope, headers, body: bytes) -> bool:
    """Store one delivery on its own (scripts and tests); the web app uses a shared InboxWriter."""
    writer = InboxWriter(db)
    try:
        return writer.store(platform, envelope, headers, body)
    finally:
        writer.close()
