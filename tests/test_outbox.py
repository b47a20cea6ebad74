"""The outbox sender against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""
from __future__ import annotations

import email
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.config import ConfigError
from plugin.db.models import JobRun, Notification, Shop
from plugin.jobs.schedule import JobSpec, run_job
from plugin.notifications import outbox, outbox_rows
from plugin.notifications.eml import eml_path, mail_dir, message_id_for
from plugin.notifications.outbox import OutboxPolicy, flush_outbox, flush_outbox_job
from plugin.notifications.outbox_rows import NO_RECIPIENT, SHOP_UNINSTALLED
from plugin.notifications.smtp import ConnectionFailed, SmtpSettings, SmtpTransport, parse_smtp_url
from plugin.runtime import build_runtime
from tests.support.smtp_sink import SmtpServer, make_authenticator, self_signed_certificate, server_tls_context

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key"  # conftest's settings_factory
FROM = "no-reply@app.example.test"  # no MAIL_FROM: no-reply@<APP_URL host>


@pytest.fixture
def make_runtime(database_url, settings_factory):
    made = []

    def make(**overrides):
        rt = build_runtime(settings_factory(database_url, **overrides))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def runtime(make_runtime, smtp):
    return make_runtime(smtp_url=smtp.url())


def later(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def add_shop(runtime, domain="alpha.myshopify.com", name="Alpha Desks", status="installed", **settings) -> int:
    with runtime.db.session() as session:
        shop = Shop(platform="shopify", domain=domain, name=name, status=status, settings=settings)
        session.add(shop)
        session.flush()
        return shop.id


_keys = iter(range(10**9))


def add_notification(runtime, shop_id: int, recipient: str | None = "alice@example.com", **values) -> int:
    n = next(_keys)
    row = dict(idempotency_key=f"delay:backorder:{n}:v1", kind="delay", recipient=recipient, locale="en",
               subject=f"Your order is delayed ({n})", body_text=f"Hello,\nnew date for item {n}: 12 March.\n",
               body_html=f"<p>Hello,</p><p>new date for item <b>{n}</b>: 12 March.</p>", context={})
    row.update(values)
    with runtime.db.session() as session:
        notification = Notification(shop_id=shop_id, **row)
        session.add(notification)
        session.flush()
        return notification.id


def row(runtime, notification_id: int) -> Notification:
    with runtime.db.session() as session:
        return session.get(Notification, notification_id)


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


def parts(msg) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in msg.walk() if not part.is_multipart()}


# -- what is sent -----------------------------------------------------------------------------------


def test_sends_each_row_over_one_connection_with_both_parts_and_headers(runtime, smtp):
    shop = add_shop(runtime, email_sender_name="Alpha Desks — Support", email_reply_to="help@alpha.example")
    first = add_notification(runtime, shop, "alice@example.com", idempotency_key="delay:backorder:alice-line:v1",
                             subject="Opóźnienie: Dąb Desk", body_text="Cześć Alicjo,\nnowa data: 12 marca 2027.\n",
                             body_html="<p>Cześć Alicjo,</p><p>nowa data: <b>12 marca 2027</b>.</p>")
    second = add_notification(runtime, shop, "bob@example.com", body_html=None)

    counts = flush_outbox(runtime)

    assert (counts["claimed"], counts["sent"], counts["transport"]) == (2, 2, "smtp")
    assert smtp.sink.sessions == 1  # one connection for the batch
    by_rcpt = {m.rcpt_tos: m for m in smtp.sink.messages}
    assert set(by_rcpt) == {("alice@example.com",), ("bob@example.com",)}
    received = by_rcpt[("alice@example.com",)]
    assert received.mail_from == FROM
    msg = parsed(received.data)
    assert msg["Subject"] == "Opóźnienie: Dąb Desk"
    assert msg["To"] == "alice@example.com"
    assert msg["From"].addresses[0].display_name == "Alpha Desks — Support"
    assert msg["From"].addresses[0].addr_spec == FROM
    assert msg["Reply-To"] == "help@alpha.example"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert body["text/plain"].replace("\r\n", "\n") == "Cześć Alicjo,\nnowa data: 12 marca 2027.\n"
    assert "<b>12 marca 2027</b>" in body["text/html"]
    # The Message-ID comes from the idempotency key: the same on every attempt, and stored.
    expected_id = message_id_for("delay:backorder:alice-line:v1", SECRET, "app.example.test")
    assert msg["Message-ID"] == expected_id == received.message_id
    assert b"\r\n" in received.data and max(len(line) for line in received.data.split(b"\r\n")) <= 998
    assert all(byte < 128 for byte in received.data)  # 7-bit clean: no 8BITMIME needed anywhere

    stored = row(runtime, first)
    assert (stored.status, stored.attempts, stored.message_id) == ("sent", 1, expected_id)
    assert stored.sent_at is not None and stored.locked_until is None
    plain = parsed(by_rcpt[("bob@example.com",)].data)
    assert plain.get_content_type() == "text/plain" and "Reply-To" in plain
    assert row(runtime, second).status == "sent"
    assert flush_outbox(runtime)["claimed"] == 0  # nothing is sent twice


def test_from_name_defaults_to_the_shop_name_and_mail_from_is_used(make_runtime, smtp):
    rt = make_runtime(smtp_url=smtp.url(), mail_from="orders@mail.example.org")
    shop = add_shop(rt, name="Beta Lamps")
    add_notification(rt, shop)
    flush_outbox(rt)
    [received] = smtp.sink.messages
    msg = parsed(received.data)
    assert received.mail_from == "orders@mail.example.org"
    assert str(msg["From"]) == "Beta Lamps <orders@mail.example.org>"
    assert "Reply-To" not in msg
    assert msg["Message-ID"].endswith("@mail.example.org>")


def test_skipped_rows_rows_without_address_and_uninstalled_shops_are_never_sent(runtime, smtp):
    shop = add_shop(runtime)
    gone = add_shop(runtime, domain="gone.myshopify.com", status="uninstalled")
    skipped = add_notification(runtime, shop, status="skipped", reason="kind switched off")
    no_address = add_notification(runtime, shop, recipient=None)
    blank = add_notification(runtime, shop, recipient="  ")
    uninstalled = add_notification(runtime, gone)
    sent = add_notification(runtime, shop, "carol@example.com")

    counts = flush_outbox(runtime)

    assert (counts["sent"], counts["skipped"]) == (1, 3)
    assert [m.rcpt_tos for m in smtp.sink.messages] == [("carol@example.com",)]
    assert (row(runtime, skipped).status, row(runtime, skipped).reason) == ("skipped", "kind switched off")
    assert (row(runtime, no_address).status, row(runtime, no_address).reason) == ("skipped", NO_RECIPIENT)
    assert row(runtime, blank).reason == NO_RECIPIENT
    assert (row(runtime, uninstalled).status, row(runtime, uninstalled).reason) == ("skipped", SHOP_UNINSTALLED)
    assert row(runtime, sent).status == "sent"
    assert flush_outbox(runtime, now=later(600))["claimed"] == 0


def test_a_row_whose_address_is_invalid_goes_dead_with_the_reason(runtime, smtp):
    shop = add_shop(runtime, email_reply_to="not an address")
    bad = add_notification(runtime, shop, "alice@@example.com")
    good = add_notification(runtime, shop)
    counts = flush_outbox(runtime)
    assert (counts["dead"], counts["sent"]) == (1, 1)
    assert row(runtime, bad).status == "dead" and "recipient address is not valid" in row(runtime, bad).reason
    # The shop's bad Reply-To is left out rather than stopping its mail.
    assert "Reply-To" not in parsed(smtp.sink.messages[0].data)
    assert row(runtime, good).status == "sent"


# -- failures ---------------------------------------------------------------------------------------


def test_a_550_for_one_recipient_dead_letters_only_that_one(runtime, smtp):
    shop = add_shop(runtime)
    smtp.sink.refuse["bob@example.com"] = "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"
    ids = [add_notification(runtime, shop, f"{name}@example.com") for name in ("alice", "bob", "carol")]

    counts = flush_outbox(runtime)

    assert (counts["sent"], counts["dead"]) == (2, 1)
    assert sorted(m.rcpt_tos[0] for m in smtp.sink.messages) == ["alice@example.com", "carol@example.com"]
    dead = row(runtime, ids[1])
    assert dead.status == "dead" and dead.attempts == 1
    assert "550" in dead.reason and "bob@" not in dead.reason  # the reason never holds the address
    assert "User unknown" in dead.last_error and "bob@example.com" not in dead.last_error
    assert smtp.sink.sessions == 1  # the refusal did not cost the connection
    assert flush_outbox(runtime, now=later(24 * 60))["claimed"] == 0


def test_4xx_retries_with_backoff_then_goes_dead(runtime, smtp):
    shop = add_shop(runtime)
    smtp.sink.refuse["alice@example.com"] = "451 4.3.0 Try again later"
    nid = add_notification(runtime, shop)
    fast = OutboxPolicy(max_attempts=3, backoff_base=60, jitter=0)

    assert flush_outbox(runtime, policy=fast)["failed"] == 1
    first = row(runtime, nid)
    assert (first.status, first.attempts) == ("failed", 1) and "451" in first.last_error
    assert (first.next_attempt_at - datetime.now(timezone.utc)).total_seconds() == pytest.approx(60, abs=10)
    assert flush_outbox(runtime, policy=fast)["claimed"] == 0  # not due yet
    assert flush_outbox(runtime, policy=fast, now=later(1.5))["failed"] == 1
    second = row(runtime, nid)
    assert (second.next_attempt_at - later(1.5)).total_seconds() == pytest.approx(120, abs=10)  # doubled
    assert flush_outbox(runtime, policy=fast, now=later(10))["dead"] == 1
    dead = row(runtime, nid)
    assert (dead.status, dead.attempts) == ("dead", 3) and "gave up after 3 attempts" in dead.reason

    del smtp.sink.refuse["alice@example.com"]
    assert flush_outbox(runtime, policy=fast, now=later(600))["claimed"] == 0
    assert smtp.sink.count == 0


def test_server_stopped_mid_batch_the_rest_retry_later_and_each_arrives_once(runtime, smtp):
    shop = add_shop(runtime)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(8)]
    # The fourth message's DATA stops the whole server before it is accepted.
    smtp.sink.on_data = lambda accepted: "stop" if accepted == 3 else None

    counts = flush_outbox(runtime)

    assert smtp.wait_stopped()
    assert (counts["sent"], counts["failed"], counts["deferred"]) == (3, 1, 4)
    assert "error" in counts and "127.0.0.1" in counts["error"]
    statuses = [row(runtime, i) for i in ids]
    assert [r.status for r in statuses] == ["sent"] * 3 + ["failed"] + ["pending"] * 4
    assert statuses[3].attempts == 1  # the one in flight counts an attempt...
    assert all(r.attempts == 0 for r in statuses[4:])  # ...the rest were never tried
    assert all(r.next_attempt_at > datetime.now(timezone.utc) for r in statuses[3:])
    assert flush_outbox(runtime)["claimed"] == 0  # they wait

    smtp.sink.on_data = None
    smtp.start()  # back, on the same port
    counts = flush_outbox(runtime, now=later(5))
    assert (counts["claimed"], counts["sent"]) == (5, 5)
    assert sorted(m.rcpt_tos[0] for m in smtp.sink.messages) == sorted(f"c{i}@example.com" for i in range(8))
    assert set(smtp.sink.message_ids().values()) == {1}
    assert all(row(runtime, i).status == "sent" for i in ids)


def test_a_dropped_connection_is_reopened_for_the_rest_of_the_batch(runtime, smtp):
    shop = add_shop(runtime)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(6)]
    # The server hangs up when the third message starts (before it could have been accepted).
    dropped = []

    def drop_once(accepted: int):
        if accepted == 2 and not dropped:
            dropped.append(accepted)
            return "drop"
        return None

    smtp.sink.on_mail = drop_once

    counts = flush_outbox(runtime)

    assert (counts["sent"], counts["failed"]) == (6, 0)
    assert smtp.sink.sessions == 2
    assert set(smtp.sink.message_ids().values()) == {1} and smtp.sink.count == 6
    assert all(row(runtime, i).attempts == 1 for i in ids)


def test_unreachable_server_defers_the_batch_and_the_job_fails_visibly(make_runtime):
    rt = make_runtime(smtp_url=SmtpServer().url())  # nothing listens there
    shop = add_shop(rt)
    nid = add_notification(rt, shop)
    counts = flush_outbox(rt)
    assert (counts["deferred"], counts["failed"]) == (1, 0) and "ConnectionRefusedError" in counts["error"]
    stored = row(rt, nid)
    assert (stored.status, stored.attempts) == ("pending", 0) and "ConnectionRefused" in stored.last_error
    assert stored.next_attempt_at > datetime.now(timezone.utc) + timedelta(seconds=50)

    add_notification(rt, shop)
    assert run_job(rt, JobSpec("email_outbox", flush_outbox_job, {})) is False
    with rt.db.session() as session:
        run = session.scalars(select(JobRun).where(JobRun.job_name == "email_outbox")).one()
    assert run.status == "error" and "OutboxUnavailable" in run.error
    assert (run.counts["claimed"], run.counts["deferred"]) == (1, 1)


def test_the_job_flushes_until_nothing_is_due(runtime, smtp):
    shop = add_shop(runtime, email_rate_per_minute=1000)
    for i in range(450):
        add_notification(runtime, shop, f"c{i}@example.com")
    counts: dict = {}
    flush_outbox_job(runtime, counts)
    assert (counts["sent"], counts["batches"], counts["transport"]) == (450, 4, "smtp")  # 200 + 200 + 50, then none
    assert json.loads(json.dumps(counts)) == counts  # lands in a JobRun row
    assert smtp.sink.count == 450


# -- rate limit -------------------------------------------------------------------------------------


def test_per_shop_rate_limit_makes_rows_over_it_wait(runtime, smtp):
    busy = add_shop(runtime, email_rate_per_minute=3)
    quiet = add_shop(runtime, domain="quiet.myshopify.com")  # the default, 120 a minute
    busy_ids = [add_notification(runtime, busy, f"b{i}@example.com") for i in range(7)]
    quiet_ids = [add_notification(runtime, quiet, f"q{i}@example.com") for i in range(2)]
    start = datetime.now(timezone.utc)

    first = flush_outbox(runtime, now=start)
    assert (first["sent"], first["waiting_for_rate_limit"]) == (5, 4)
    assert [row(runtime, i).status for i in busy_ids] == ["sent"] * 3 + ["pending"] * 4
    assert all(row(runtime, i).status == "sent" for i in quiet_ids)

    assert flush_outbox(runtime, now=start + timedelta(seconds=30))["claimed"] == 0
    assert flush_outbox(runtime, now=start + timedelta(seconds=61))["sent"] == 3
    assert flush_outbox(runtime, now=start + timedelta(seconds=122))["sent"] == 1
    assert smtp.sink.count == 9 and set(smtp.sink.message_ids().values()) == {1}


def test_shops_share_a_batch_round_robin(runtime, smtp):
    a = add_shop(runtime, email_rate_per_minute=1000)
    b = add_shop(runtime, domain="b.myshopify.com", email_rate_per_minute=1000)
    for i in range(6):
        add_notification(runtime, a, f"a{i}@example.com")
    for i in range(2):
        add_notification(runtime, b, f"b{i}@example.com")
    flush_outbox(runtime, limit=4)
    assert sorted(m.rcpt_tos[0][0] for m in smtp.sink.messages) == ["a", "a", "b", "b"]


# -- leases -----------------------------------------------------------------------------------------


def test_a_sending_row_is_taken_over_only_after_its_lease_expired(runtime, smtp):
    nid = add_notification(runtime, add_shop(runtime))
    with runtime.db.session() as session:
        n = session.get(Notification, nid)
        n.status, n.locked_by, n.attempts = "sending", "someone-else", 1
        n.locked_until = datetime.now(timezone.utc) + timedelta(minutes=5)
    assert flush_outbox(runtime)["claimed"] == 0
    assert flush_outbox(runtime, now=later(4))["claimed"] == 0
    counts = flush_outbox(runtime, now=later(6), sender_name="taker")
    assert counts["sent"] == 1
    stored = row(runtime, nid)
    assert (stored.status, stored.attempts, stored.locked_by) == ("sent", 2, "taker")


def test_a_row_that_always_kills_its_sender_goes_dead(runtime, smtp):
    nid = add_notification(runtime, add_shop(runtime))
    with runtime.db.session() as session:
        n = session.get(Notification, nid)
        n.status, n.locked_by, n.attempts, n.locked_until = "sending", "crashed", 10, datetime.now(timezone.utc)
    assert flush_outbox(runtime, now=later(1))["dead"] == 1
    assert "lease expired each time" in row(runtime, nid).reason
    assert smtp.sink.count == 0


def test_a_batch_stops_before_a_send_could_outlive_its_lease(runtime, smtp):
    shop = add_shop(runtime)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(3)]

    class SlowServer(SmtpTransport):
        max_send_seconds = 299.0  # a send may take that long; the lease is 300 s

        def complete(self, *args, **kwargs):
            super().complete(*args, **kwargs)
            time.sleep(1.5)  # after this one, another send could outlive the lease

    transport = SlowServer(parse_smtp_url(smtp.url()))
    try:
        counts = flush_outbox(runtime, transport=transport, policy=OutboxPolicy(lease_seconds=300))
    finally:
        transport.close()
    assert (counts["sent"], counts["released"]) == (1, 2)
    released = row(runtime, ids[2])
    assert (released.status, released.attempts, released.locked_until) == ("pending", 0, None)
    assert flush_outbox(runtime)["sent"] == 2  # due again at once


def test_each_message_is_recorded_before_the_next_one_starts(runtime, smtp, monkeypatch):
    """At most one message is ever accepted but unrecorded: the one whose commit is running."""
    shop = add_shop(runtime)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(3)]
    events = []
    real_mark_sent = outbox_rows.mark_sent

    def slow_mark_sent(writer, item, *args):
        time.sleep(0.2)
        row = real_mark_sent(writer, item, *args)
        events.append(("recorded", ids.index(item.id)))
        return row

    monkeypatch.setattr(outbox_rows, "mark_sent", slow_mark_sent)
    smtp.sink.on_mail = lambda accepted: events.append(("mail", accepted))
    smtp.sink.on_data = lambda accepted: events.append(("accepted", accepted))

    assert flush_outbox(runtime)["sent"] == 3
    assert events == [("mail", 0), ("accepted", 0), ("recorded", 0), ("mail", 1), ("accepted", 1), ("recorded", 1),
                      ("mail", 2), ("accepted", 2), ("recorded", 2)]


# -- TLS and credentials ----------------------------------------------------------------------------


def test_auth_over_starttls_with_a_verified_certificate(make_runtime, tmp_path, caplog):
    cert, key = self_signed_certificate(tmp_path)
    server = SmtpServer(tls_context=server_tls_context(cert, key), require_starttls=True, auth_required=True,
                        authenticator=make_authenticator("mailer", "p@ss w/rd")).start()
    try:
        good = server.url(userinfo="mailer:p%40ss%20w%2Frd", query=f"starttls=required&cafile={cert}")
        rt = make_runtime(smtp_url=good)
        shop = add_shop(rt)
        add_notification(rt, shop)
        assert flush_outbox(rt)["sent"] == 1
        assert server.sink.count == 1

        # A wrong password: nothing is attempted, and the password is in no message or row.
        caplog.set_level(logging.DEBUG)
        rt.settings = rt.settings.model_copy(update={"smtp_url": server.url(
            userinfo="mailer:hunter2-wrong", query=f"starttls=required&cafile={cert}")})
        nid = add_notification(rt, shop)
        counts = flush_outbox(rt)
        assert counts["deferred"] == 1 and "authentication failed (535)" in counts["error"]
        assert row(rt, nid).attempts == 0
        assert "hunter2" not in caplog.text and "hunter2" not in (row(rt, nid).last_error or "")
        assert "hunter2" not in repr(parse_smtp_url(rt.settings.smtp_url))

        # Without our CA the server's certificate is refused.
        transport = SmtpTransport(parse_smtp_url(server.url(userinfo="mailer:x", query="starttls=required")))
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            transport.send(FROM, "alice@example.com", b"Subject: x\r\n\r\nx\r\n")
    finally:
        server.stop()


def test_starttls_required_but_not_offered_and_no_password_in_clear(smtp, monkeypatch):
    required = SmtpTransport(parse_smtp_url(smtp.url(query="starttls=required")))
    with pytest.raises(ConnectionFailed, match="does not offer STARTTLS"):
        required.send(FROM, "a@example.com", b"Subject: x\r\n\r\nx\r\n")
    # A server that is not on loopback and offers no TLS never gets the password.
    monkeypatch.setattr(SmtpSettings, "on_loopback", property(lambda self: False))
    transport = SmtpTransport(parse_smtp_url(smtp.url(userinfo="u:secret-pw")))
    with pytest.raises(ConnectionFailed, match="refusing to send the password unencrypted") as info:
        transport.send(FROM, "a@example.com", b"Subject: x\r\n\r\nx\r\n")
    assert "secret-pw" not in str(info.value)
    assert smtp.sink.count == 0


def test_smtp_url_is_validated_at_start_with_the_variable_named(settings_factory, tmp_path):
    for bad, words in [("http://mail.example.com", "must start with smtp://"),
                       ("smtp://user:topsecret@:25", "names no host"),
                       ("smtp://mail.example.com:99999", "port"),
                       ("smtp://mail.example.com?starttls=maybe", "starttls must be"),
                       ("smtps://mail.example.com?starttls=required", "smtps://"),
                       ("smtp://mail.example.com?tls=1", "unknown parameter")]:
        with pytest.raises(ConfigError, match="SMTP_URL") as info:
            settings_factory("sqlite:///x.db", smtp_url=bad)
        assert words in str(info.value) and "topsecret" not in str(info.value)
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        settings_factory("sqlite:///x.db", mail_from="Backorders <b@example.com>")
    parsed_url = parse_smtp_url("smtps://us%40er:p%3Ass@mail.example.com?timeout=5")
    assert (parsed_url.port, parsed_url.username, parsed_url.password, parsed_url.timeout) == (465, "us@er", "p:ss", 5)
    assert parse_smtp_url("smtp://mail.example.com").port == 587
    assert "p:ss" not in repr(parsed_url) and "p:ss" not in parsed_url.describe()


# -- the .eml mailbox (no SMTP_URL) -----------------------------------------------------------------


def test_without_smtp_url_messages_become_eml_files(make_runtime):
    rt = make_runtime()  # the embedded default: no SMTP_URL
    shop = add_shop(rt, email_reply_to="help@alpha.example")
    nid = add_notification(rt, shop, subject="Your desk is delayed")
    skipped = add_notification(rt, shop, recipient=None)

    counts = flush_outbox(rt)

    assert (counts["sent"], counts["skipped"], counts["transport"]) == (1, 1, "eml")
    directory = mail_dir(rt.settings)
    path = eml_path(directory, nid)
    assert sorted(p.name for p in directory.iterdir()) == [f"{nid}.eml"]  # no temporary files left behind
    msg = parsed(path.read_bytes())
    assert (msg["To"], msg["Subject"], msg["Reply-To"]) == ("alice@example.com", "Your desk is delayed", "help@alpha.example")
    assert set(parts(msg)) == {"text/plain", "text/html"}
    assert row(rt, nid).message_id == msg["Message-ID"]
    assert row(rt, nid).status == "sent" and row(rt, skipped).status == "skipped"

    # A resend (the sender died before its commit) writes the same file with the same bytes.
    before = path.read_bytes()
    with rt.db.session() as session:
        session.get(Notification, nid).status = "pending"
    flush_outbox(rt)
    assert path.read_bytes() == before


def test_customer_redaction_deletes_the_eml_copies(make_runtime):
    from plugin.compliance.identity import Customer
    from plugin.compliance.services import erase_shop, redact_customer

    rt = make_runtime()
    shop = add_shop(rt)
    alice = add_notification(rt, shop, "Alice@Example.com")
    bob = add_notification(rt, shop, "bob@example.com")
    flush_outbox(rt)
    directory = mail_dir(rt.settings)
    assert eml_path(directory, alice).exists() and eml_path(directory, bob).exists()

    redact_customer(rt, shop, Customer(email="alice@example.com"))
    assert not eml_path(directory, alice).exists() and eml_path(directory, bob).exists()
    assert row(rt, alice).recipient is None and row(rt, alice).body_html is None

    with rt.db.session() as session:
        session.get(Shop, shop).status = "uninstalled"
    assert erase_shop(rt, shop).erased
    assert not eml_path(directory, bob).exists()


def test_a_row_redacted_while_its_file_was_written_loses_the_file(make_runtime, monkeypatch):
    from plugin.compliance.identity import Customer
    from plugin.compliance.services import redact_customer
    from plugin.notifications.eml import EmlTransport

    rt = make_runtime()
    shop = add_shop(rt)
    nid = add_notification(rt, shop)
    real_write = EmlTransport.complete

    def redact_meanwhile(self, *args, **kwargs):
        # The row was read before the redaction committed; the file is written after it.
        redact_customer(rt, shop, Customer(email="alice@example.com"))
        real_write(self, *args, **kwargs)

    monkeypatch.setattr(EmlTransport, "complete", redact_meanwhile)
    assert flush_outbox(rt)["sent"] == 1
    assert not eml_path(mail_dir(rt.settings), nid).exists()


# -- a killed sender --------------------------------------------------------------------------------


def _start_sender(database_url, tmp_path, smtp_url, kill_point, after=0):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(tmp_path / "sender.log", "wb")
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "tests/support/kill_sender.py"),
                             database_url, str(tmp_path), smtp_url, kill_point, str(after)],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def _wait_for(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _kill(proc, log, tmp_path, ready) -> None:
    try:
        assert _wait_for(lambda: ready() or proc.poll() is not None), (tmp_path / "sender.log").read_text()
        assert proc.poll() is None, (tmp_path / "sender.log").read_text()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_killed_sender_restarted_sends_each_remaining_message_once(runtime, smtp, database_url, tmp_path):
    shop = add_shop(runtime, email_rate_per_minute=1000)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(20)]
    # The eighth message is held unanswered: the sender waits for the server's reply when it dies.
    smtp.sink.on_data = lambda accepted: "hold" if accepted == 7 else None
    proc, log = _start_sender(database_url, tmp_path, smtp.url(), "before_accept")
    _kill(proc, log, tmp_path, smtp.sink.held.is_set)
    smtp.sink.on_data = None
    smtp.sink.release.set()  # the held message is abandoned, never accepted

    assert smtp.sink.count == 7
    statuses = [row(runtime, i).status for i in ids]
    assert statuses == ["sent"] * 7 + ["sending"] * 13  # all claimed by the dead sender, under its lease
    assert flush_outbox(runtime)["claimed"] == 0  # its lease is still running: nobody takes over yet

    counts = flush_outbox(runtime, now=later(6))  # past the 5-minute lease
    assert (counts["claimed"], counts["sent"]) == (13, 13)
    assert smtp.sink.count == 20 and set(smtp.sink.message_ids().values()) == {1}
    assert sorted(m.rcpt_tos[0] for m in smtp.sink.messages) == sorted(f"c{i}@example.com" for i in range(20))
    assert [row(runtime, i).attempts for i in ids] == [1] * 7 + [2] * 13


@pytest.mark.slow
def test_killed_between_the_servers_250_and_the_commit_resends_that_one_message(runtime, smtp, database_url,
                                                                                tmp_path):
    """The window SMTP leaves open: exactly the one message in flight comes twice, same Message-ID."""
    shop = add_shop(runtime, email_rate_per_minute=1000)
    ids = [add_notification(runtime, shop, f"c{i}@example.com") for i in range(10)]
    proc, log = _start_sender(database_url, tmp_path, smtp.url(), "after_accept", after=4)
    _kill(proc, log, tmp_path, (tmp_path / "accepted").exists)
    in_flight = int((tmp_path / "accepted").read_text())

    assert smtp.sink.count == 4
    assert [row(runtime, i).status for i in ids] == ["sent"] * 3 + ["sending"] * 7
    assert row(runtime, in_flight).status == "sending"

    assert flush_outbox(runtime, now=later(6))["sent"] == 7
    seen = smtp.sink.message_ids()
    assert smtp.sink.count == 11 and len(seen) == 10
    [(twice, times)] = [(mid, n) for mid, n in seen.items() if n > 1]
    assert times == 2 and twice == row(runtime, in_flight).message_id


def test_backoff_grows_and_is_capped():
    rng = random.Random(1)
    p = OutboxPolicy(backoff_base=60, backoff_cap=7200, jitter=0)
    assert [outbox.backoff_seconds(n, p, rng) for n in (1, 2, 3, 8, 9, 20)] == [60, 120, 240, 7200, 7200, 7200]
    jittered = [outbox.backoff_seconds(3, OutboxPolicy(), rng) for _ in range(50)]
    assert all(180 <= d <= 240 for d in jittered) and len(set(jittered)) > 1
