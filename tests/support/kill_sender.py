"""The outbox sender in a process of its own, for the kill tests in tests/test_outbox.py.

It flushes the outbox to the test's SMTP server until nothing is due. The test kills it with
SIGKILL at a point it chooses:

  before_accept  the test's server holds one message unanswered (the sender waits for the reply)
  after_accept   this script stops after the server accepted message number N, before the
                 `sent` commit: the one window in which a crash makes the next sender resend

Usage: python tests/support/kill_sender.py DATABASE_URL WORK_DIR SMTP_URL {before_accept|after_accept} [N]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

SECRET_KEY = "test-secret-key"  # the tests' settings use the same, so Message-IDs agree
DOOMED_SENDER = "doomed-sender"


def main(database_url: str, work_dir: str, smtp_url: str, kill_point: str, after: str = "0") -> None:
    from plugin.config import load_settings
    from plugin.db import Database
    from plugin.notifications import outbox, outbox_rows
    from plugin.runtime import Runtime

    work = Path(work_dir)
    settings = load_settings(database_url=database_url, instance_path=work / "instance", smtp_url=smtp_url,
                             secret_key=SECRET_KEY, app_url="https://app.example.test")
    runtime = Runtime(settings=settings, db=Database(settings.sqlalchemy_url))

    if kill_point == "after_accept":
        stop_at = int(after)
        accepted = 0
        real_mark_sent = outbox_rows.mark_sent

        def mark_sent(writer, item, sender, *args):
            nonlocal accepted
            accepted += 1
            if accepted == stop_at:
                (work / "accepted").write_text(str(item.id))
                time.sleep(60)  # the server has the message; the test kills us before the commit
                raise SystemExit("kill_sender.py was never killed")
            return real_mark_sent(writer, item, sender, *args)

        outbox_rows.mark_sent = mark_sent

    while outbox.flush_outbox(runtime, limit=50, sender_name=DOOMED_SENDER)["claimed"]:
        pass
    (work / "finished").write_text("nothing left to send")


if __name__ == "__main__":
    main(*sys.argv[1:6])
