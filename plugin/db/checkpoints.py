"""SQLite WAL checkpoints in a background thread instead of inside the committing transaction.

By default SQLite checkpoints in `COMMIT`: the commit that takes the write-ahead log past 1,000
pages copies the log into the database file and fsyncs it before it returns. Whichever request
happens to cross the line pays for everyone's writes: a webhook delivery's commit waits for a
recompute's 100 MB of pages to reach the disk (about a second here; a third of an incremental
recompute's time). So the app's connections turn automatic checkpoints off
(`wal_autocheckpoint=0`) and one thread per process runs `PRAGMA wal_checkpoint(PASSIVE)` on a
connection of its own every `interval` seconds. PASSIVE takes no lock that readers or the writer
wait for; frames still needed by an open read snapshot are left for the next round. With two
processes on one database (gunicorn workers), their checkpointers take turns on SQLite's
checkpoint lock; a round that finds it held does nothing. `journal_size_limit` shrinks the log
file back after a big write once it has been checkpointed and restarted.

The thread starts with the first connection of the process (again after a fork, which keeps no
threads) and stops when the engine is disposed; closing the last connection checkpoints anyway.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes of WAL kept on disk after a restart


class WalCheckpointer:
    def __init__(self, path: str, interval: float = 1.0):
        self.path = path
        self.interval = interval
        self.rounds = 0  # checkpoints run (for health and tests)
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the log, frames checkpointed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        """Start the thread if this process has none (first connection, or after a fork)."""
        if self._running_here():
            return
        with self._lock:
            if self._running_here():
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name="sqlite-checkpoints",
                                            daemon=True)
            self._thread.start()

    def _running_here(self) -> bool:
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=10)

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        busy, frames, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.rounds += 1
        self.last = (busy, frames, done)
        return self.last

    def _run(self, stop: threading.Event) -> None:
        connection = None
        try:
            while not stop.wait(self.interval):
                try:
                    if connection is None:
                        # mode=rw: a database file removed meanwhile is not created again, empty
                        connection = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=rw", uri=True, timeout=0,
                                                     check_same_thread=False)
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # busy, or the file went away (a test's database): next round
                    log.debug("wal checkpoint skipped", extra={"error": str(exc)})
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()
