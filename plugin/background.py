"""Background work inside one process: inbox worker threads, their heartbeat, and the scheduler.

`serve` (the embedded default) calls start_background(); `backorder-desk worker` calls
run_worker_process() (workers only; the scheduler then lives in `backorder-desk clock`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from plugin.jobs.runs import component_name, write_heartbeat
from webhooks.worker import InboxWorker, default_worker_name

log = logging.getLogger(__name__)

WORKER_HEARTBEAT_SECONDS = 10.0


@dataclass
class Background:
    runtime: Any
    workers: list[InboxWorker]
    threads: list[threading.Thread]
    scheduler: Any = None  # an APScheduler BackgroundScheduler, or None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop workers, heartbeat and scheduler. True when all of them ended within `timeout`.

        A worker still inside a handler is left to finish (daemon thread); its lease covers the event.
        """
        deadline = time.monotonic() + timeout
        if self.runtime.extras.get("wake_worker") == self.wake:
            del self.runtime.extras["wake_worker"]
        self.stop_event.set()
        self.wake()
        if self.scheduler is not None and self.scheduler.running:
            # shutdown(wait=True) waits for running jobs with no time limit of its own.
            closer = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True},
                                      name="scheduler-shutdown", daemon=True)
            closer.start()
            closer.join(max(0.0, deadline - time.monotonic()))
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        late = [t.name for t in self.threads if t.is_alive()]
        if self.scheduler is not None and self.scheduler.running:
            late.append("scheduler")
        if late:
            log.warning("background work did not stop in time", extra={"late": late, "timeout_s": timeout})
        return not late


def _beat_while_alive(runtime, worker_threads: list[threading.Thread], stop: threading.Event,
                      interval: float) -> None:
    """Beat only while every worker thread lives, so /healthz goes stale when one has died."""
    component = component_name("worker")
    while True:
        dead = [t.name for t in worker_threads if not t.is_alive()]
        if dead:
            log.error("inbox worker thread died; heartbeat withheld", extra={"threads": dead})
        else:
            try:
                write_heartbeat(runtime, "worker", component)
            except Exception:
                log.exception("worker heartbeat failed")
        if stop.wait(interval):
            return


def start_background(runtime, *, worker_threads: int | None = None, scheduler: bool = True,
                     poll_interval: float = 0.5, heartbeat_interval: float = WORKER_HEARTBEAT_SECONDS,
                     **worker_options: Any) -> Background:
    """Start N inbox worker threads (settings.worker_threads by default), their heartbeat and,
    optionally, the in-process scheduler. `worker_options` go to every InboxWorker."""
    count = runtime.settings.worker_threads if worker_threads is None else worker_threads
    base = default_worker_name()
    workers = [InboxWorker(runtime, name=f"{base}:{i}", **worker_options) for i in range(count)]
    bg = Background(runtime=runtime, workers=workers, threads=[])
    for i, worker in enumerate(workers):
        # Daemon: a handler stuck on a platform call must not keep the process from exiting.
        thread = threading.Thread(target=worker.run_forever, args=(bg.stop_event, poll_interval),
                                  name=f"inbox-worker-{i}", daemon=True)
        thread.start()
        bg.threads.append(thread)
    if workers:
        beat = threading.Thread(target=_beat_while_alive, args=(runtime, list(bg.threads), bg.stop_event,
                                                                heartbeat_interval),
                                name="worker-heartbeat", daemon=True)
        beat.start()
        bg.threads.append(beat)
    # Set before the scheduler starts: its inbox sweep wakes the workers right away.
    runtime.extras["wake_worker"] = bg.wake
    if scheduler:
        from plugin.jobs.schedule import build_scheduler

        try:
            bg.scheduler = build_scheduler(runtime, background=True)
            bg.scheduler.start()
        except Exception:
            bg.stop(timeout=5)
            raise
    log.info("background started", extra={"worker_threads": count, "scheduler": scheduler})
    return bg


def run_worker_process(runtime, stop: threading.Event, *, worker_threads: int | None = None,
                       **worker_options: Any) -> None:
    """Body of `backorder-desk worker`: worker threads and their heartbeat until `stop` is set."""
    count = runtime.settings.worker_threads if worker_threads is None else worker_threads
    # A dedicated worker process with zero threads would only pretend to work.
    bg = start_background(runtime, worker_threads=max(1, count), scheduler=False, **worker_options)
    try:
        # Short waits keep the main thread responsive to signal handlers that set `stop`.
        while not stop.wait(1.0):
            pass
    finally:
        bg.stop()
