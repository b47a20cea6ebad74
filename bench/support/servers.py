"""gunicorn as a subprocess with fixed settings, plus CPU accounting read from /proc."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_argv(app_spec: str, port: int, *, workers: int, worker_class: str, threads: int,
                  keep_alive: int = 30) -> list[str]:
    """The one gunicorn command line both targets share; only the app differs."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return [
        str(gunicorn),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--threads", str(threads),
        "--backlog", "2048",
        "--keep-alive", str(keep_alive),
        "--timeout", "120",
        "--graceful-timeout", "5",
        "--log-level", "warning",
        "--chdir", str(ROOT),
        app_spec,
    ]


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (e.g. PostgreSQL backends), when visible to us."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                found.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL processes working for us: backends of `database` plus the shared auxiliary ones
    (WAL writer, checkpointer...), not the backends of other databases on the same server."""
    found = []
    for pid in pids_named("postgres"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        is_backend = "(" in cmdline and ")" in cmdline or "[local]" in cmdline
        if database in cmdline or not is_backend:
            found.append(pid)
    return found


def busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy so far (all processes, all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass
class Gunicorn:
    app_spec: str
    env: dict[str, str]
    log_path: Path
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 8
    keep_alive: int = 30
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def argv(self) -> list[str]:
        return gunicorn_argv(self.app_spec, self.port, workers=self.workers, worker_class=self.worker_class,
                             threads=self.threads, keep_alive=self.keep_alive)

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, **self.env, "BENCH_THREADS": str(self.threads),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self._log = open(self.log_path, "ab")
        # Own process group: stop() signals gunicorn and its workers, nothing else.
        self.proc = subprocess.Popen(self.argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            if len(self.worker_pids()) >= self.workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not come up within {timeout:.0f}s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/bench-ready")
            conn.getresponse().read()
            conn.close()
            return True
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def workers_cpu(self) -> float:
        return sum(self.per_worker_cpu().values())

    def per_worker_cpu(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.worker_pids()}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close_log()
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()
