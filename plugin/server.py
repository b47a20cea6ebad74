"""The embedded default: one gunicorn process serving the app, with worker threads and the scheduler.

Scale-out runs the same app under plain gunicorn (web), `backorder-desk worker` and one
`backorder-desk clock`; only this module bundles them into one process.
"""
from __future__ import annotations

import signal
import threading

from gunicorn.app.base import BaseApplication


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


class _Embedded(BaseApplication):
    def __init__(self, factory, options: dict):
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._factory()


def serve_embedded(settings, *, host: str, port: int, threads: int, demo: bool) -> None:
    def factory():
        # Runs inside gunicorn's worker process, so threads started here live where requests are served.
        from plugin.app import create_app
        from plugin.background import start_background
        from plugin.heap import settle_startup_heap
        from plugin.runtime import build_runtime

        if demo:
            from plugin.devdemo import build_demo

            runtime, wsgi = build_demo(settings)
        else:
            runtime = build_runtime(settings)
            wsgi = create_app(runtime)
        background = start_background(runtime)
        runtime.extras["background"] = background
        settle_startup_heap()
        return wsgi

    _Embedded(factory, {
        "bind": f"{host}:{port}",
        "workers": 1,  # one process: SQLite's single writer and the in-process worker live together
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "preload_app": False,
    }).run()
