"""Email outbox benchmark: how fast does the sender deliver delay notices over SMTP, and does a
sender killed mid-run and restarted deliver every message exactly once?

    python bench/email_outbox.py                     # 10,000 delay notices, PostgreSQL
    python bench/email_outbox.py --db sqlite
    python bench/email_outbox.py --messages 2000     # a quick run

1. Seed (not timed): one shop, N orders with one backordered line each, and a delay event per line
   put in the outbox through the messages' own enqueue API (plugin/notifications/enqueue.py:
   rendered Jinja2 templates, HTML and text, en and pl), N pending rows. `--rows direct` inserts
   rendered-looking rows of about 4 KB instead.
2. A real SMTP server (aiosmtpd, bench/tests' smtp_sink) runs in this process on 127.0.0.1 and
   records every message it accepts. The sender runs in a process of its own (this file with
   `--sender`): `flush_outbox` batches until nothing is due, one SMTP connection per batch.
   Printed: messages/s (first claim to last commit), peak RSS of the sender, CPU of everyone.
3. Kill run: every row is reset to pending, the server forgets what it got, the sender starts
   again and is SIGKILLed once the server has accepted about half. A new sender is started at
   once; it sends what nobody claimed, and the dead sender's claimed rows once their lease (10 s
   here, 5 min by default) has expired. Counted at the server by Message-ID: sent (distinct),
   duplicates (receipts beyond the first), missing (never received).

The last line printed is one JSON object with every figure. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET_KEY = "bench-secret-key"
APP_URL = "https://app.example.test"
# The bench measures the sender, not the per-shop rate limit (default 120 a minute).
UNLIMITED_RATE = 10**9
GOAL_MESSAGES_PER_S = 300
# Seconds per SMTP operation: the server is on loopback. A send may take 5 operations, and a sender
# starts no send that could outlive its lease, so the lease (--lease) must exceed 5 x this.
SMTP_TIMEOUT = 1


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=10_000, help="delay notices (default 10000)")
    p.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql", help="default postgresql")
    p.add_argument("--postgres-admin-url", default=None,
                   help="server for the throwaway database (default $BENCH_POSTGRES_URL or "
                        "postgresql://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--rows", choices=("enqueue", "direct"), default="enqueue",
                   help="create the rows through the enqueue API (default) or insert ~4 KB rows directly")
    p.add_argument("--batch", type=int, default=200, help="rows claimed per flush_outbox call (default 200)")
    p.add_argument("--senders", type=int, default=1,
                   help="sender processes in the throughput run (default 1; more share the rows by SKIP LOCKED)")
    p.add_argument("--lease", type=float, default=10.0, help="sender lease in seconds (default 10)")
    p.add_argument("--kill-at", type=float, default=0.5, help="share of messages accepted before the SIGKILL")
    p.add_argument("--skip-kill", action="store_true", help="only the throughput run")
    p.add_argument("--kill-runs", type=int, default=1, help="kill runs (each resets the outbox; default 1)")
    p.add_argument("--seed", type=int, default=20261201, help="seeds the kill moments")
    p.add_argument("--time-limit", type=float, default=600.0, help="bound on each sender run, seconds")
    p.add_argument("--check", action="store_true", help="exit 1 unless every goal is met")
    # The sender process (started by the benchmark itself).
    p.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--database-url", help=argparse.SUPPRESS)
    p.add_argument("--smtp-url", help=argparse.SUPPRESS)
    p.add_argument("--instance", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# -- the sender process -------------------------------------------------------------------------------

def _settings(database_url: str, instance: str, smtp_url: str = ""):
    from plugin.config import load_settings

    return load_settings(database_url=database_url, instance_path=Path(instance), smtp_url=smtp_url,
                         secret_key=SECRET_KEY, app_url=APP_URL, log_level="WARNING")


def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    execve, so a child started from a big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_sender(args) -> None:
    """Flush until nothing is left to send (rows under a dead sender's lease included)."""
    from sqlalchemy import func, select

    from plugin.db.models import Notification
    from plugin.notifications.outbox import OutboxPolicy, flush_outbox
    from plugin.runtime import build_runtime

    from plugin.notifications import outbox_rows

    runtime = build_runtime(_settings(args.database_url, args.instance, args.smtp_url))
    policy = OutboxPolicy(lease_seconds=args.lease)
    # The resend window of each message: from the server's 250 (complete() returns) to the end
    # of its `sent` commit. A crash inside it makes the next sender resend that message, so the
    # windows' share of the run is the chance that a kill at a random moment costs a duplicate
    # (a little more in truth: the server took the message a moment before its 250 arrived; a
    # little less on PostgreSQL, where a statement already written commits even if we die).
    from plugin.notifications.eml import EmlTransport
    from plugin.notifications.smtp import SmtpTransport

    accepted_at: dict[int, float] = {}
    in_doubt = [0.0]
    real_mark_sent = outbox_rows.mark_sent

    def timed_mark_sent(writer, item, *a, **kw):
        try:
            return real_mark_sent(writer, item, *a, **kw)
        finally:
            in_doubt[0] += time.perf_counter() - accepted_at.pop(item.id, time.perf_counter())

    def timed(complete):
        def wrapper(self, data, **kw):
            complete(self, data, **kw)
            accepted_at[kw["notification_id"]] = time.perf_counter()
        return wrapper

    outbox_rows.mark_sent = timed_mark_sent
    SmtpTransport.complete = timed(SmtpTransport.complete)
    EmlTransport.complete = timed(EmlTransport.complete)
    baseline_rss = _rss_mb()
    totals: Counter = Counter()
    batches = 0
    started = time.monotonic()
    deadline = started + args.time_limit
    while time.monotonic() < deadline:
        counts = flush_outbox(runtime, limit=args.batch, policy=policy)
        batches += 1
        totals.update({k: v for k, v in counts.items() if isinstance(v, int)})
        if counts["claimed"]:
            continue
        with runtime.db.session() as session:
            left = session.execute(select(func.count()).select_from(Notification)
                                   .where(Notification.status.in_(("pending", "failed", "sending")))).scalar_one()
        if not left:
            break
        time.sleep(0.1)  # rows under another sender's lease: wait for it to expire, like a poller would
    finished = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {"send_seconds": finished - started, "batches": batches, "counts": dict(totals),
              "started_at": time.time() - (time.monotonic() - started), "finished_at": time.time() - (time.monotonic() - finished),
              "in_doubt_seconds": in_doubt[0],
              "peak_rss_mb": round(_rss_mb(), 1), "baseline_rss_mb": round(baseline_rss, 1),
              "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}
    Path(args.result).write_text(json.dumps(result))
    runtime.close()


# -- seeding ------------------------------------------------------------------------------------------

def seed(runtime, n: int, how: str) -> dict:
    from sqlalchemy import select

    from plugin.db.models import Backorder, Order, OrderLine, Shop

    placed = datetime.now(timezone.utc) - timedelta(days=20)
    with runtime.db.session() as session:
        shop = Shop(platform="shopify", domain="bench-desks.myshopify.com", name="Nordic Desk Co.",
                    status="installed", settings={"email_rate_per_minute": UNLIMITED_RATE,
                                                  "email_reply_to": "help@nordic-desk.example"})
        session.add(shop)
        session.flush()
        shop_id = shop.id
    for start in range(0, n, 1000):
        with runtime.db.shop_session(shop_id) as session:
            for i in range(start, min(n, start + 1000)):
                order = Order(platform_order_id=str(7_000_000 + i), name=f"#{1000 + i}",
                              email=f"customer{i}@example.com", customer_name=f"Customer {i}",
                              customer_locale="pl" if i % 3 == 0 else "en", status="open", placed_at=placed)
                line = OrderLine(order=order, platform_line_id=str(9_000_000 + i), sku="DESK-OAK",
                                 title="Oak standing desk, 160 x 80 cm", quantity=1, open_quantity=1)
                backorder = Backorder(line=line, quantity=1, promised_eta=date(2027, 3, 12),
                                      original_eta=date(2027, 2, 26), current_eta=date(2027, 3, 12),
                                      eta_earliest=date(2027, 3, 5), eta_likely=date(2027, 3, 10),
                                      eta_latest=date(2027, 3, 19), promise_version=2, status="open",
                                      ordered_at=placed)
                session.add_all([order, line, backorder])
    with runtime.db.shop_session(shop_id) as session:
        backorder_ids = list(session.scalars(select(Backorder.id).order_by(Backorder.id)))
    started = time.monotonic()
    if how == "enqueue":
        from plugin.notifications.enqueue import enqueue_for_events

        for start in range(0, n, 500):
            with runtime.db.shop_session(shop_id) as session:
                shop = session.get(Shop, shop_id)
                enqueue_for_events(runtime, session, shop, [
                    {"backorder_id": b, "kind": "delay", "promise_version": 2,
                     "old_date": date(2027, 2, 26), "new_date": date(2027, 3, 12)}
                    for b in backorder_ids[start:start + 500]])
    else:
        _insert_direct(runtime, shop_id, backorder_ids)
    return {"shop_id": shop_id, "seed_seconds": round(time.monotonic() - started, 1)}


def _insert_direct(runtime, shop_id: int, backorder_ids: list[int]) -> None:
    from plugin.db.models import Notification

    paragraph = ("We are sorry: the oak standing desk you ordered will ship later than we promised. "
                 "Our supplier's next delivery moved, and we now expect to ship it on 12 March 2027 "
                 "instead of 26 February 2027. ")
    text = "Hello,\n\n" + (paragraph + "\n\n") * 6 + "Nordic Desk Co.\n"
    html = "<html><body>" + f"<p style=\"margin:0 0 16px;font-family:Arial,sans-serif\">{paragraph}</p>" * 9 + "</body></html>"
    with runtime.db.shop_session(shop_id) as session:
        for i, b in enumerate(backorder_ids):
            session.add(Notification(idempotency_key=f"delay:backorder:{b}:v2", kind="delay", backorder_id=b,
                                     recipient=f"customer{i}@example.com", locale="en",
                                     subject=f"Order #{1000 + i}: new ship date 12 March 2027",
                                     body_text=text, body_html=html, context={}))


def body_sizes(runtime) -> dict:
    from sqlalchemy import func, select

    from plugin.db.models import Notification as N

    with runtime.db.session() as session:
        row = session.execute(select(func.count(), func.avg(func.length(N.body_text)), func.avg(func.length(N.body_html)),
                                     func.sum(func.length(N.body_text) + func.length(N.body_html)))
                              .where(N.status == "pending")).one()
    return {"pending": row[0], "avg_text_chars": round(float(row[1] or 0)), "avg_html_chars": round(float(row[2] or 0))}


def reset_outbox(runtime) -> None:
    from sqlalchemy import update

    from plugin.db.models import Notification as N

    with runtime.db.session() as session:
        session.execute(update(N).where(N.status != "skipped").values(
            status="pending", attempts=0, next_attempt_at=datetime.now(timezone.utc), locked_by=None,
            locked_until=None, message_id=None, sent_at=None, last_error=None, reason=None))


def statuses(runtime) -> dict:
    from sqlalchemy import func, select

    from plugin.db.models import Notification as N

    with runtime.db.session() as session:
        return dict(session.execute(select(N.status, func.count()).group_by(N.status)).all())


def expected_ids(runtime) -> dict[str, int]:
    """Message-ID -> notification id of every row that should arrive (not skipped)."""
    from sqlalchemy import select

    from plugin.db.models import Notification as N
    from plugin.notifications.eml import message_id_for
    from plugin.notifications.outbox import mail_identity

    identity = mail_identity(runtime.settings)
    with runtime.db.session() as session:
        rows = session.execute(select(N.id, N.idempotency_key).where(N.status != "skipped")).all()
    return {message_id_for(key, identity.secret, identity.domain): nid for nid, key in rows}


# -- running senders ----------------------------------------------------------------------------------

class Sender:
    def __init__(self, args, database_url: str, smtp_url: str, workdir: Path, name: str):
        self.result_path = workdir / f"{name}.json"
        self.log_path = workdir / f"{name}.log"
        argv = [sys.executable, str(Path(__file__).resolve()), "--sender", "--database-url", database_url,
                "--smtp-url", smtp_url, "--instance", str(workdir / "instance"), "--result", str(self.result_path),
                "--batch", str(args.batch), "--lease", str(args.lease), "--time-limit", str(args.time_limit)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait(self, timeout: float) -> dict:
        try:
            self.proc.wait(timeout)
        finally:
            self.stop()
        self.wall_seconds = time.monotonic() - self.started
        if self.proc.returncode != 0:
            raise RuntimeError(f"sender exited with {self.proc.returncode}:\n{self.log_tail()}")
        return json.loads(self.result_path.read_text())

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class CpuMeter:
    """CPU seconds over a run: the whole machine, this process (the SMTP server), our PostgreSQL
    processes (sampled while the run goes: a backend takes its CPU time with it when it exits)."""

    def __init__(self, database_url: str):
        from bench.support.servers import busy_cpu_seconds, cpu_seconds, postgres_pids

        self._busy, self._cpu, self._pg = busy_cpu_seconds, cpu_seconds, postgres_pids
        self.db_name = database_url.rsplit("/", 1)[-1] if "postgresql" in database_url else None
        self._stop = threading.Event()

    def _sample_pg(self) -> None:
        for pid in self._pg(self.db_name):
            self._pg_last[pid] = max(self._pg_last.get(pid, 0.0), self._cpu(pid))

    def _sampler(self) -> None:
        while not self._stop.wait(0.25):
            self._sample_pg()

    def start(self) -> None:
        self._pg_last: dict[int, float] = {}
        if self.db_name:
            self._sample_pg()
        self._pg_base = dict(self._pg_last)
        self.t0 = (self._busy(), self._cpu(os.getpid()))
        self._thread = threading.Thread(target=self._sampler, daemon=True) if self.db_name else None
        if self._thread:
            self._thread.start()

    def stop(self, sender_cpu: float) -> dict:
        busy, mine = self._busy() - self.t0[0], self._cpu(os.getpid()) - self.t0[1]
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._sample_pg()
        pg = sum(cpu - self._pg_base.get(pid, 0.0) for pid, cpu in self._pg_last.items())
        return {"smtp_server_cpu_s": round(mine, 2), "postgres_cpu_s": round(pg, 2), "sender_cpu_s": sender_cpu,
                "other_cpu_s": round(max(0.0, busy - mine - pg - sender_cpu), 2), "machine_busy_cpu_s": round(busy, 2)}


def throughput_run(args, runtime, database_url, smtp, workdir) -> dict:
    meter = CpuMeter(database_url)
    meter.start()
    senders = [Sender(args, database_url, smtp.url(query=f"timeout={SMTP_TIMEOUT}"), workdir, f"throughput-{i}")
               for i in range(args.senders)]
    results = [sender.wait(args.time_limit + 60) for sender in senders]
    cpu = meter.stop(round(sum(r["cpu_s"] for r in results), 2))
    received = smtp.sink.message_ids()
    expected = expected_ids(runtime)
    sent = sum(r["counts"].get("sent", 0) for r in results)
    seconds = max(r["finished_at"] for r in results) - min(r["started_at"] for r in results)
    return {
        "messages_per_s": round(sent / seconds, 1) if seconds else 0.0, "senders": args.senders,
        "send_seconds": round(seconds, 2), "process_wall_seconds": round(max(s.wall_seconds for s in senders), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "baseline_rss_mb": max(r["baseline_rss_mb"] for r in results),
        "batches": sum(r["batches"] for r in results), "sent": sent, "received": sum(received.values()),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "missing": len(set(expected) - set(received)), "smtp_connections": smtp.sink.sessions,
        "resend_window_share": round(sum(r["in_doubt_seconds"] for r in results) / sum(r["send_seconds"] for r in results), 3),
        "statuses": statuses(runtime), **cpu,
    }


def kill_run(args, runtime, database_url, smtp, workdir, n: int, rng: random.Random, run: int = 1) -> dict:
    from sqlalchemy import select

    from plugin.db.models import Notification as N

    reset_outbox(runtime)
    smtp.sink.messages.clear()
    expected = expected_ids(runtime)
    # About half, at a random place inside a batch (a kill between batches would prove little).
    kill_after = max(1, min(n - 1, int(n * args.kill_at) + rng.randrange(args.batch)))
    doomed = Sender(args, database_url, smtp.url(query=f"timeout={SMTP_TIMEOUT}"), workdir, f"doomed-{run}")
    deadline = time.monotonic() + args.time_limit
    while smtp.sink.count < kill_after and doomed.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    # A crash has nothing to do with where the sender is in its SMTP dialogue: wait a random part
    # of a few message cycles, so the kill does not land just after an acceptance every time.
    time.sleep(rng.uniform(0, 0.012))
    if doomed.proc.poll() is not None:
        raise RuntimeError(f"the sender ended before it could be killed:\n{doomed.log_tail()}")
    doomed.kill()
    at_kill = smtp.sink.count
    time.sleep(0.5)  # a statement the dead sender had written still commits on PostgreSQL: let it
    with runtime.db.session() as session:
        sending_keys = dict(session.execute(select(N.id, N.idempotency_key).where(N.status == "sending")).all())
    by_row = {nid: mid for mid, nid in expected.items()}
    received_now = smtp.sink.message_ids()
    # Accepted by the server, not yet recorded as sent: these are the ones the restart resends.
    in_doubt = [nid for nid in sending_keys if by_row[nid] in received_now]
    status_at_kill = statuses(runtime)

    restarted_at = time.monotonic()
    restart = Sender(args, database_url, smtp.url(query=f"timeout={SMTP_TIMEOUT}"), workdir, f"restart-{run}")
    result = restart.wait(args.time_limit + 60)
    received = smtp.sink.message_ids()
    return {
        "kill_after_accepted": kill_after, "accepted_at_kill": at_kill, "claimed_by_dead_sender": len(sending_keys),
        "accepted_not_recorded_at_kill": len(in_doubt), "statuses_at_kill": status_at_kill,
        "restart_seconds": round(time.monotonic() - restarted_at, 2), "restart_sent": result["counts"].get("sent", 0),
        "sent": len(set(received) & set(expected)), "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "missing": len(set(expected) - set(received)), "unexpected": len(set(received) - set(expected)),
        "statuses": statuses(runtime),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.sender:
        run_sender(args)
        return 0

    from bench.support.databases import postgres_facts, throwaway_database
    from plugin.runtime import build_runtime
    from tests.support.smtp_sink import SmtpServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    summary: dict = {"benchmark": "email_outbox", "db": args.db, "messages": args.messages, "rows": args.rows,
                     "batch": args.batch, "lease_s": args.lease, "cpus": os.cpu_count(),
                     "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with throwaway_database(args.db, workdir, args.postgres_admin_url) as database_url:
        runtime = build_runtime(_settings(database_url, str(workdir / "instance")))
        if args.db == "postgresql":
            summary["db_facts"] = postgres_facts(database_url)
        print(f"seeding {args.messages} delay notices ({args.rows}) into {args.db} ...", flush=True)
        summary.update(seed(runtime, args.messages, args.rows))
        summary["bodies"] = body_sizes(runtime)
        print(f"  {summary['bodies']['pending']} pending; text {summary['bodies']['avg_text_chars']} chars, "
              f"HTML {summary['bodies']['avg_html_chars']} chars on average (seeded in {summary['seed_seconds']} s)")
        server = SmtpServer().start()
        try:
            print(f"throughput run: {args.senders} sender process(es), aiosmtpd in this process ...", flush=True)
            summary["throughput"] = t = throughput_run(args, runtime, database_url, server, workdir)
            print(f"  {t['sent']} sent in {t['send_seconds']} s: {t['messages_per_s']} messages/s; "
                  f"peak RSS {t['peak_rss_mb']} MB (after imports {t['baseline_rss_mb']} MB); "
                  f"{t['smtp_connections']} SMTP connections for {t['batches']} batches")
            print(f"  resend windows (a 250 received, its 'sent' not yet committed): {t['resend_window_share']:.1%} "
                  f"of the run, the chance that a kill at a random moment costs one duplicate")
            print(f"  received {t['received']}, duplicates {t['duplicates']}, missing {t['missing']}; CPU s: sender "
                  f"{t['sender_cpu_s']}, smtp server {t['smtp_server_cpu_s']}, postgres {t['postgres_cpu_s']}, "
                  f"other processes {t['other_cpu_s']}")
            rng = random.Random(args.seed)
            runs = [] if args.skip_kill else range(1, args.kill_runs + 1)
            for run in runs:
                print(f"kill run {run}: SIGKILL after ~{args.kill_at:.0%} accepted, restart at once ...", flush=True)
                k = kill_run(args, runtime, database_url, server, workdir, args.messages, rng, run)
                summary.setdefault("kill_runs", []).append(k)
                print(f"  killed with {k['accepted_at_kill']} accepted, {k['claimed_by_dead_sender']} claimed by the "
                      f"dead sender ({k['accepted_not_recorded_at_kill']} accepted but not yet recorded)")
                print(f"  after restart ({k['restart_seconds']} s): sent {k['sent']}, duplicates {k['duplicates']}, "
                      f"missing {k['missing']}")
            if runs:
                summary["kill"] = {key: sum(k[key] for k in summary["kill_runs"])
                                   for key in ("sent", "duplicates", "missing", "accepted_not_recorded_at_kill")}
                summary["kill"]["runs"] = len(summary["kill_runs"])
        finally:
            server.stop()
            runtime.close()
    goals = {"messages_per_s_ge_300": summary["throughput"]["messages_per_s"] >= GOAL_MESSAGES_PER_S}
    if "kill" in summary:
        goals["no_duplicates"] = summary["kill"]["duplicates"] == 0 and summary["throughput"]["duplicates"] == 0
        goals["none_missing"] = summary["kill"]["missing"] == 0 and summary["throughput"]["missing"] == 0
    goals["all"] = all(goals.values())
    summary["goals_met"] = goals
    summary["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(summary, sort_keys=True))
    return 0 if goals["all"] or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
