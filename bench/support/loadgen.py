"""Drive one target with wrk replaying a file of pre-generated requests; return its figures."""
from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.support.servers import busy_cpu_seconds

REPLAY_LUA = Path(__file__).with_name("replay.lua")


class LoadGenError(RuntimeError):
    pass


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise LoadGenError("wrk is not installed: apt-get install wrk (Debian package `wrk`)")
    return wrk


def write_requests(path: Path, raw_requests) -> int:
    """Records of '<10-digit length>\\n<bytes>' as replay.lua reads them. Returns the count."""
    count = 0
    with open(path, "wb") as fh:
        for raw in raw_requests:
            fh.write(b"%010d\n" % len(raw))
            fh.write(raw)
            count += 1
    return count


@dataclass
class LoadResult:
    target: str
    requests: int
    answered: int
    ok2xx: int
    non2xx: int
    socket_errors: int
    extra: int
    closed_by_server: int
    worker_cpu_split: list
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    wrk_cpu_s: float
    other_cpu_s: float
    wall_s: float
    server_cpu_s: float
    postgres_cpu_s: float | None

    @property
    def acks_per_s(self) -> float:
        return self.ok2xx / self.duration_s if self.duration_s > 0 else 0.0


def run_wrk(target: str, url: str, requests_file: Path, requests: int, *, connections: int, threads: int,
            time_limit: float, cpu_probe=None, postgres_probe=None) -> LoadResult:
    """One wrk run; `time_limit` bounds it (wrk's -d) and the subprocess wait."""
    if connections > requests // threads:
        raise LoadGenError(f"need at least {connections} requests per wrk thread (got {requests} for {threads})")
    argv = [find_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{int(time_limit)}s",
            "-T", "60s", "-s", str(REPLAY_LUA), url, "--", str(requests_file), str(threads)]
    split_probe = getattr(cpu_probe, "__self__", None)
    split0 = split_probe.per_worker_cpu() if split_probe is not None else {}
    server_cpu0 = cpu_probe() if cpu_probe else 0.0
    pg_cpu0 = postgres_probe() if postgres_probe else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, own0 = busy_cpu_seconds(), time.process_time()
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_lines: list[str] = []
    err_chunks: list[bytes] = []
    stderr_reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    stderr_reader.start()
    try:
        # wrk's main thread sleeps for all of -d; once every thread has printed that it is done,
        # SIGINT ends that sleep (wrk's own handler) and wrk prints its summary via done().
        done_threads = 0
        deadline = started + time_limit + 60
        stdout_lines = _lines_with_deadline(proc.stdout, deadline)
        for line in stdout_lines:
            out_lines.append(line)
            if line.startswith("WRK_THREAD_DONE"):
                done_threads += 1
                if done_threads == threads:
                    proc.send_signal(signal.SIGINT)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise LoadGenError(f"wrk did not finish within {time_limit + 60:.0f}s") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        stderr_reader.join(5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, own = busy_cpu_seconds() - busy0, time.process_time() - own0
    server_cpu = (cpu_probe() - server_cpu0) if cpu_probe else 0.0
    split1 = split_probe.per_worker_cpu() if split_probe is not None else {}
    worker_split = sorted((round(split1[p] - split0.get(p, 0.0), 2) for p in split1), reverse=True)
    pg_cpu = (postgres_probe() - pg_cpu0) if postgres_probe and pg_cpu0 is not None else None
    wall = time.monotonic() - started
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Whatever else ran on the machine meanwhile (other benchmarks, test suites): a noise gauge.
    other_cpu = max(0.0, busy - own - wrk_cpu - server_cpu - (pg_cpu or 0.0))
    out = "\n".join(out_lines)
    err = b"".join(err_chunks).decode(errors="replace")
    lines = [ln for ln in out_lines if ln.startswith("WRK_RESULT ")]
    if proc.returncode != 0 or not lines:
        raise LoadGenError(f"wrk failed (exit {proc.returncode}):\n{out}\n{err}")
    data = json.loads(lines[-1][len("WRK_RESULT "):])
    if data["loaded"] != requests:
        raise LoadGenError(f"wrk loaded {data['loaded']} requests, expected {requests}")
    if data["answered"] < requests:
        raise LoadGenError(f"wrk stopped after {data['answered']} of {requests} answers "
                           f"(time bound {time_limit:.0f}s reached after {wall:.0f}s?)")
    return LoadResult(
        target=target,
        requests=requests,
        answered=data["answered"],
        ok2xx=data["ok2xx"],
        non2xx=data["non2xx"],
        socket_errors=data["err_connect"] + data["err_read"] + data["err_write"] + data["err_timeout"],
        # Our own first-request-to-last-answer time; wrk's covers thread start to the SIGINT.
        duration_s=(data["measured_us"] if data["measured_us"] > 0 else data["duration_us"]) / 1e6,
        extra=data["extra"],
        closed_by_server=data["closed"],
        worker_cpu_split=worker_split,
        p50_ms=data["lat_p50_us"] / 1000,
        p90_ms=data["lat_p90_us"] / 1000,
        p99_ms=data["lat_p99_us"] / 1000,
        p999_ms=data["lat_p999_us"] / 1000,
        max_ms=data["lat_max_us"] / 1000,
        mean_ms=data["lat_mean_us"] / 1000,
        wrk_cpu_s=wrk_cpu,
        other_cpu_s=other_cpu,
        wall_s=wall,
        server_cpu_s=server_cpu,
        postgres_cpu_s=pg_cpu,
    )


def _lines_with_deadline(stream, deadline: float):
    """Lines of a pipe as they arrive; stops at EOF, raises TimeoutExpired at the deadline."""
    buffer = b""
    fd = stream.fileno()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired("wrk", 0)
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            if buffer:
                yield buffer.decode(errors="replace")
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode(errors="replace")
