"""SQLite's WAL is checkpointed by a background thread, not by whichever commit crosses 1,000 pages."""
from __future__ import annotations

import os
import time

from plugin.db import Database


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_big_commit_leaves_its_pages_to_the_checkpointer(tmp_path):
    path = tmp_path / "app.sqlite3"
    db = Database(f"sqlite:///{path}")
    checkpointer = db.checkpointer
    checkpointer.interval = 3600  # no round during the write
    try:
        with db.engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            conn.exec_driver_sql("CREATE TABLE blobs (body BLOB)")
        with db.engine.begin() as conn:  # ~2,000 pages: past the default automatic checkpoint
            conn.exec_driver_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                 "WHERE i < 2000) INSERT INTO blobs SELECT randomblob(4000) FROM n")
        wal = f"{path}-wal"
        assert os.path.getsize(wal) > 2000 * 4096  # the commit did not copy them into the database
        assert checkpointer.rounds == 0

        checkpointer.stop()
        checkpointer.interval = 0.05
        checkpointer.ensure_running()
        assert _wait_for(lambda: checkpointer.last is not None and checkpointer.last[1] >= 2000
                         and checkpointer.last[1] == checkpointer.last[2])
        with db.engine.begin() as conn:  # the data is all there, and the next writer restarts the log
            assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar() == 2000
            conn.exec_driver_sql("INSERT INTO blobs VALUES (x'00')")
        rounds = checkpointer.rounds
        # the writer started the log over from its beginning: the next round sees a few frames only
        assert _wait_for(lambda: checkpointer.rounds > rounds and checkpointer.last[1] < 10)
    finally:
        db.dispose()
    assert checkpointer._thread is None


def test_only_sqlite_files_get_a_checkpointer(tmp_path):
    assert Database("sqlite://").checkpointer is None
    assert Database("postgresql+psycopg://127.0.0.1:5432/none").checkpointer is None
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        assert db.checkpointer is not None and db.checkpointer._thread is None  # started by the first connection
    finally:
        db.dispose()
