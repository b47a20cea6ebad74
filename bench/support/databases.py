"""Throwaway databases for one benchmark run: a PostgreSQL database, or a SQLite file in WAL mode."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg

from plugin.db.migrate import upgrade

DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def throwaway_database(kind: str, workdir: Path, admin_url: str | None = None,
                       prefix: str = "bench_ingest") -> Iterator[str]:
    """Yield a migrated database URL (SQLAlchemy form); the database is dropped afterwards.
    PostgreSQL: `<prefix>_<pid>_<hex>` on the admin URL's server."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
        try:
            url = f"sqlite:///{folder / 'bench.sqlite3'}"
            upgrade(url)  # the app's engine switches the file to WAL on its first connection
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    admin_url = _libpq(admin_url or os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base, _, _ = admin_url.rpartition("/")
            url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
            upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def postgres_facts(url: str) -> dict:
    """Server settings that change ingest figures a lot (commit durability, version)."""
    with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
        facts = {"server_version": conn.execute("SHOW server_version").fetchone()[0]}
        for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
            facts[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    return facts


def settle_disk(database_url: str) -> None:
    """Start a measured run with nothing of the set-up left to write back.

    A set-up writes hundreds of MB (request files, a seeded database, an earlier run's WAL); the
    kernel writes such dirty pages back ~30 s later, i.e. during the measured run, where the
    device queue they fill delays its commits' fsyncs (webhook_ingest saw stalls of 60-110 ms in
    both web workers at once). os.sync() writes them now; CHECKPOINT does the same for the
    PostgreSQL server's buffers.
    """
    os.sync()
    if database_url.startswith("postgresql"):
        try:
            with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
                conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("(no CHECKPOINT before the measured run: the benchmark's role may not run it)", flush=True)


def stand_in_for_autovacuum(database_url: str) -> None:
    """VACUUM ANALYZE the database, when its server runs no autovacuum.

    The PostgreSQL of these machines has `autovacuum = off`; a shop's server has it on, and in
    the minutes between two recomputes it vacuums what the last one left: a full run updates
    1,000,000 lines (1,000,000 dead row versions), the push job deletes the 725,000 order marks.
    Without it the next run's inserts into order_marks check each key against the dead index
    entries (0.25 against 0.10-0.16 s for 15,795 marks) and its reads visit dead versions.
    """
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "off":
            conn.execute("VACUUM ANALYZE")
