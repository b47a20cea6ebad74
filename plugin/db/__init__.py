"""Engine and sessions. One `Database` per process; sessions are short and explicit.

`db.session()` is for cross-shop infrastructure (the inbox, jobs, installs). Everything done on
behalf of a shop goes through `db.shop_session(shop_id)`, which adds `shop_id = :id` to every ORM
query of a shop-owned model and refuses to flush another shop's rows.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from plugin.db.checkpoints import JOURNAL_SIZE_LIMIT, WalCheckpointer
from plugin.db.models import Base, ShopOwned


class CrossShopWrite(RuntimeError):
    """A shop-scoped session tried to write a row of another shop."""


def _configure_sqlite(engine: Engine, checkpointer: WalCheckpointer | None = None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy drive transactions so BEGIN IMMEDIATE can take the write lock up front:
        # SQLite's one writer then queues on busy_timeout instead of failing a lock upgrade.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Statement journals in memory: a multi-row UPDATE of a table with triggers (backorders,
        # the tallies) keeps the first image of every page it changes in one, which on disk
        # was a write call per page (an incremental ETA recompute: 20,000 pages, 80 MB, 0.04 s).
        # The temporary tables of bulk writes live there too (tens of MB at most).
        cur.execute("PRAGMA temp_store=MEMORY")
        if checkpointer is not None:  # checkpoints in the background, not in whichever COMMIT crosses the line
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cur.close()
        if checkpointer is not None:
            checkpointer.ensure_running()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, checkpointer: WalCheckpointer | None = None, **kwargs) -> Engine:
    """`checkpointer` (SQLite): runs the WAL checkpoints instead of the connections' commits."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine, checkpointer)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:  # NullPool (migrations) takes no sizing
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _scope_queries(session_factory: sessionmaker) -> None:
    @event.listens_for(session_factory, "do_orm_execute")
    def _add_shop_criteria(state: ORMExecuteState):
        shop_id = state.session.info.get("shop_id")
        if shop_id is None or not (state.is_select or state.is_update or state.is_delete):
            return
        state.statement = state.statement.options(
            with_loader_criteria(ShopOwned, lambda cls: cls.shop_id == shop_id, include_aliases=True)
        )

    @event.listens_for(session_factory, "before_flush")
    def _refuse_cross_shop(session: Session, _ctx, _instances):
        shop_id = session.info.get("shop_id")
        if shop_id is None:
            return
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, ShopOwned):
                if obj.shop_id is None:
                    obj.shop_id = shop_id
                elif obj.shop_id != shop_id:
                    raise CrossShopWrite(f"{type(obj).__name__} of shop {obj.shop_id} in a session of shop {shop_id}")


class Database:
    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.checkpointer = _checkpointer_for(url)
        self.engine = make_engine(url, self.checkpointer, **engine_kwargs)
        self.dialect = self.engine.dialect.name
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        _scope_queries(self._factory)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        with self._factory() as session:
            with session.begin():
                yield session

    @contextmanager
    def shop_session(self, shop_id: int) -> Iterator[Session]:
        with self._factory(info={"shop_id": shop_id}) as session:
            with session.begin():
                yield session

    def create_all(self) -> None:
        """For throwaway databases in tests and benchmarks; real databases use `migrate`."""
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def _checkpointer_for(url: str) -> WalCheckpointer | None:
    """A background checkpointer for a SQLite database file (not for in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return WalCheckpointer(parsed.database)
