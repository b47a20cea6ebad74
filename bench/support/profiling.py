"""cProfile inside gunicorn workers, per request thread, for `webhook_ingest.py --profile`.

cProfile only sees the thread that enabled it, and gthread serves requests on pool threads, so
each thread gets its own profiler, switched on only while it runs a request. When the worker
exits the profiles are merged and written to <dir>/<pid>.pstats. Profiling slows the app down a
lot; the figures of a profiled run are for finding hot spots, not for reporting.

The clock is wall time by default (`BENCH_PROFILE_CLOCK=wall`): it includes waiting for the
database and for the GIL. `BENCH_PROFILE_CLOCK=cpu` uses each thread's own CPU time instead, which
shows what the request threads spend the machine's cores on.
"""
from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import threading
import time
from pathlib import Path

CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


class ProfiledApp:
    def __init__(self, app, out_dir: str, clock: str = "wall"):
        self.app = app
        self.out_dir = Path(out_dir)
        self.timer = CLOCKS[clock]
        self._local = threading.local()
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        atexit.register(self.dump)

    def _profile(self) -> cProfile.Profile:
        prof = getattr(self._local, "prof", None)
        if prof is None:
            prof = self._local.prof = cProfile.Profile(self.timer)
            with self._lock:
                self._profiles.append(prof)
        return prof

    def __call__(self, environ, start_response):
        prof = self._profile()
        prof.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            prof.disable()

    def dump(self) -> None:
        with self._lock:
            profiles = [p for p in self._profiles if p.getstats()]
        if not profiles:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stats = pstats.Stats(profiles[0])
        for prof in profiles[1:]:
            stats.add(prof)
        stats.dump_stats(str(self.out_dir / f"{os.getpid()}.pstats"))


def maybe_profiled(app):
    out_dir = os.environ.get("BENCH_PROFILE_DIR")
    return ProfiledApp(app, out_dir, os.environ.get("BENCH_PROFILE_CLOCK", "wall")) if out_dir else app


def merged_report(out_dir: Path, limit: int = 35) -> str:
    files = sorted(Path(out_dir).glob("*.pstats"))
    if not files:
        return "(no profiles were written)"
    import io

    buffer = io.StringIO()
    stats = pstats.Stats(str(files[0]), stream=buffer)
    for file in files[1:]:
        stats.add(str(file))
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return buffer.getvalue()
