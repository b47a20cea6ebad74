"""The outbox sender: claim due notifications under a lease, send them, record each outcome.

A notification row is composed (subject and bodies rendered) in the transaction of the event that
caused it; this module only delivers it. `flush_outbox` is one batch:

1. Claim. One statement, `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`,
   moves due rows to `sending` with a lease (locked_by, locked_until) and counts the attempt. Due
   means: pending or failed with next_attempt_at passed, or sending with an expired lease (its
   sender died). On PostgreSQL concurrent senders skip each other's rows, and an advisory lock held
   for the claim transaction makes the shops' rate budgets exact; SQLite's BEGIN IMMEDIATE makes
   the claim the one writer. Rows with no recipient, or of a shop that uninstalled the app, become
   `skipped` with the reason and are never sent.
2. Send, over ONE connection (SMTP_URL) or into instance/mail/ as .eml files (no SMTP_URL). A
   helper thread builds the messages ahead of the loop, which mostly waits on replies and commits.
3. Record each message in its own short commit as soon as the server has accepted it, and only
   while the lease is still ours.

Exactly once, and why it cannot be had over SMTP. The server takes responsibility for a message
when it answers 250 to the final "."; we learn that when the reply arrives, and our `sent` commit
follows. Two systems, no shared transaction: SMTP has no idempotent submission and no way to ask
a server later whether it has a message. If the sender dies between the server's 250 and our
commit, the row stays `sending` and nobody can tell whether the message went out. We resend it
(at least once) rather than risk losing it (at most once). The window is small and bounded: one
message wide, since every earlier message of the batch was committed as sent right after its own
250, and one database round trip long (a prepared one-row UPDATE, committed durably: well under
a millisecond on SQLite, about one on PostgreSQL; bench/email_outbox.py measures it). The
resend carries the same Message-ID (derived from the idempotency key), so receivers that
deduplicate by Message-ID show it once. A `sending` row is taken over only after its lease
expired, so a sender that is slow but alive is never doubled, and a sender stops starting new
messages well before its lease would run out. The .eml mailbox has no such window: the file name
is the row id and the bytes are the same on every attempt, so a rewrite changes nothing.

Outcomes. Accepted -> sent. A 5yz reply for the message -> dead with the reason. A 4yz reply, a
lost connection or a timeout -> failed, retried with exponential backoff (jittered), dead after
`max_attempts`; a lost connection is reopened for the rest of the batch. No connection at all
(refused, TLS, authentication) -> nothing was attempted: the unsent rows wait a minute with no
attempt counted, and the batch reports the error (the scheduled job then fails visibly).

Rate limit. At most `email_rate_per_minute` messages per shop in any 60 s (shop setting, default
120); rows over it stay due and wait. A claimed or sent row's next_attempt_at holds when it was
attempted or sent, so the last minute of a shop is a range scan of the (status, next_attempt_at)
index. Shops with due mail share a batch round-robin (the first row of each, then the second...).

The SQL of claiming and recording lives in outbox_rows.py; the messages in eml.py; SMTP in smtp.py.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import random
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable


from plugin.logs import scrub
from plugin.notifications import outbox_rows as rows
from plugin.notifications.compose import compose_pending
from plugin.notifications.event_messages import queue_event_emails
from plugin.notifications.eml import (EmlTransport, InvalidMessage, OutgoingMessage, build_message,
                                      delete_eml_copies, envelope_address, mail_dir, message_id_for)
from plugin.notifications.outbox_rows import NO_RECIPIENT, Claimed, shop_option
from plugin.notifications.smtp import ConnectionFailed, PermanentError, SmtpTransport, TransientError, parse_smtp_url

log = logging.getLogger(__name__)

# Shop settings (declared in plugin/shop_settings.py).
SENDER_NAME_SETTING = "email_sender_name"
REPLY_TO_SETTING = "email_reply_to"
ERROR_MAX_CHARS = 2000
# The scheduled job keeps flushing batches for at most this long (it runs every 30 s or so).
JOB_TIME_BUDGET_SECONDS = 50.0
COUNT_KEYS = ("claimed", "sent", "failed", "dead", "skipped", "deferred", "released", "lease_lost",
              "waiting_for_rate_limit", "composed", "events_queued")


@dataclass(frozen=True)
class OutboxPolicy:
    lease_seconds: float = 300.0
    max_attempts: int = 10
    # Retry n waits base * 2**(n-1), at most cap: 1, 2, 4, ... 64 min, then 2 h (about 6 h in all).
    backoff_base: float = 60.0
    backoff_cap: float = 7200.0
    # Messages that failed together (a server outage) should not come back in lockstep.
    jitter: float = 0.25
    # Unsent rows of a batch whose server could not be reached wait this long, no attempt counted.
    unreachable_wait_seconds: float = 60.0
    rate_window_seconds: float = 60.0


DEFAULT_POLICY = OutboxPolicy()


@dataclass(frozen=True)
class MailIdentity:
    """Who the app's mail comes from: the envelope and From address, and the Message-ID secret."""

    address: str
    secret: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_sender_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[-100:]


def _app_host(settings) -> str | None:
    """APP_URL's host when it is a DNS name (not an IP literal or a bare 'localhost')."""
    host = (settings.app_url.host or "").strip("[]")
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        return host if "." in host else None


def mail_identity(settings) -> MailIdentity:
    address = settings.mail_from or f"no-reply@{_app_host(settings) or 'localhost'}"
    return MailIdentity(address=address, secret=settings.resolved_secret_key())


def open_transport(settings):
    """SMTP when SMTP_URL is set; otherwise the .eml mailbox under instance/mail/."""
    if settings.smtp_url:
        return SmtpTransport(parse_smtp_url(settings.smtp_url), local_hostname=_app_host(settings))
    return EmlTransport(mail_dir(settings))


# -- one batch --------------------------------------------------------------------------------------

def flush_outbox(runtime, *, limit: int = 200, now: datetime | None = None, transport=None,
                 policy: OutboxPolicy = DEFAULT_POLICY, sender_name: str | None = None,
                 rng: random.Random | None = None) -> dict[str, Any]:
    """Claim up to `limit` due notifications and deliver them. Returns counts of what happened.

    `now` freezes the clock for the whole batch (tests); `transport` replaces the one SMTP_URL
    chooses (it is then not closed here).
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    sender = (sender_name or default_sender_name())[-100:]
    counts: dict[str, Any] = dict.fromkeys(COUNT_KEYS, 0)
    # The recompute's events get their messages first (stored unrendered); then render what this
    # batch may take.
    counts["events_queued"] = queue_event_emails(runtime)
    counts["composed"] = compose_pending(runtime, limit=limit)["composed"]
    claimed, shops = rows.claim(runtime, sender, limit, clock(), lease_seconds=policy.lease_seconds,
                                rate_window_seconds=policy.rate_window_seconds, counts=counts)
    counts["claimed"] = len(claimed)
    if not claimed:
        return counts
    identity = mail_identity(runtime.settings)
    own_transport = transport is None
    transport = open_transport(runtime.settings) if own_transport else transport
    writer = rows.OutcomeWriter(runtime.db)
    if transport.max_send_seconds >= policy.lease_seconds:
        rows.release(writer, claimed, sender, clock(), reason=None)
        writer.close()
        raise ValueError(f"a lease of {policy.lease_seconds:g} s is shorter than one send may take "
                         f"({transport.max_send_seconds:g} s): nothing could ever be sent")
    counts["transport"] = transport.name
    rng = rng or random.Random()
    started = time.monotonic()
    # Messages are built by a helper thread ahead of the sending loop: building is CPU work, and
    # the loop mostly waits (for the server's replies and the database's commits), without the GIL.
    builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-build")
    built = builder.map(lambda item: _composed(item, shops[item.shop_id], identity), claimed)
    try:
        for index, (item, message) in enumerate(zip(claimed, built)):
            if time.monotonic() - started + transport.max_send_seconds > policy.lease_seconds:
                # A send started now could outlive our lease, and a new owner could send it too.
                counts["released"] += rows.release(writer, claimed[index:], sender, clock(), reason=None)
                break
            try:
                outcome = _deliver(runtime, writer, transport, item, message, sender, policy, clock, rng)
            except ConnectionFailed as exc:
                error = scrub(str(exc))[:ERROR_MAX_CHARS]
                wait_until = clock() + timedelta(seconds=policy.unreachable_wait_seconds)
                counts["deferred"] += rows.release(writer, claimed[index:], sender, wait_until, reason=error)
                counts["error"] = error
                log.error("outbox: no mail server connection; the batch waits",
                          extra={"error": error, "deferred": counts["deferred"]})
                break
            counts[outcome] += 1
    finally:
        builder.shutdown(wait=True, cancel_futures=True)
        writer.close()
        if own_transport:
            transport.close()
    log.info("outbox batch", extra={"counts": dict(counts), "sender": sender})
    return counts


def _composed(item: Claimed, shop, identity: MailIdentity) -> OutgoingMessage | InvalidMessage | None:
    """compose() for the builder thread: the message, why it cannot be one, or None (no recipient)."""
    if not (item.recipient or "").strip():
        return None
    try:
        return compose(item, shop, identity)
    except InvalidMessage as exc:
        return exc


def _deliver(runtime, writer: rows.OutcomeWriter, transport, item: Claimed,
             message: OutgoingMessage | InvalidMessage | None, sender: str, policy: OutboxPolicy, clock,
             rng: random.Random) -> str:
    extra = {"notification_id": item.id, "shop_id": item.shop_id, "kind": item.kind, "attempt": item.attempts}
    if item.attempts > policy.max_attempts:
        # Failures go dead at max_attempts, so only leases that expired every time get here:
        # a message that kills or hangs its sender must not be retried forever.
        reason = f"gave up after {item.attempts - 1} attempts (the sender's lease expired each time)"
        return rows.record(writer, item, sender, "dead", extra, status="dead", reason=reason)
    if message is None:
        return rows.record(writer, item, sender, "skipped", extra, status="skipped", reason=NO_RECIPIENT)
    if isinstance(message, InvalidMessage):
        return rows.record(writer, item, sender, "dead", extra, status="dead", reason=str(message),
                           last_error=str(message))
    try:
        transport.send(message.envelope_from, message.recipient, message.data, notification_id=item.id)
    except PermanentError as exc:
        # The server's text often quotes the address: it goes to last_error (erased on a
        # customers/redact), never to `reason` or the log.
        reason = f"refused by the mail server ({exc.code}); retrying cannot help"
        log.error("outbox: message refused", extra={**extra, "code": exc.code})
        return rows.record(writer, item, sender, "dead", extra, status="dead", reason=reason,
                           last_error=_error_text(exc, item.recipient))
    except TransientError as exc:
        error = _error_text(exc, item.recipient)
        if item.attempts >= policy.max_attempts:
            log.error("outbox: message dead after retries", extra={**extra, "code": exc.code})
            return rows.record(writer, item, sender, "dead", extra, status="dead", last_error=error,
                               reason=f"gave up after {item.attempts} attempts ({exc.code or 'no reply'})")
        delay = backoff_seconds(item.attempts, policy, rng)
        log.warning("outbox: message failed; will retry",
                    extra={**extra, "code": exc.code, "retry_in_s": round(delay)})
        return rows.record(writer, item, sender, "failed", extra, status="failed", last_error=error,
                           next_attempt_at=clock() + timedelta(seconds=delay))
    row = rows.mark_sent(writer, item, sender, clock(), message.message_id)
    if row is None:
        log.warning("outbox: lease lost after sending; another sender may send it again", extra=extra)
        return "lease_lost"
    if row.recipient is None and transport.name == "eml":
        # Erased on the customer's request while we were writing the file: the copy goes too.
        delete_eml_copies(runtime.settings, [item.id])
    log.debug("outbox: message sent", extra=extra)
    return "sent"


def compose(item: Claimed, shop, identity: MailIdentity) -> OutgoingMessage:
    """The row as RFC 5322 bytes, the same bytes on every attempt."""
    reply_to = shop_option(shop.settings, REPLY_TO_SETTING)
    if reply_to:
        try:
            envelope_address(str(reply_to), "reply-to")
        except InvalidMessage:
            # The merchant's typo must not stop the shop's mail: send without Reply-To.
            log.warning("outbox: the shop's reply-to address is not valid; left out", extra={"shop_id": item.shop_id})
            reply_to = None
    message_id = message_id_for(item.idempotency_key, identity.secret, identity.domain)
    data = build_message(
        recipient=item.recipient, subject=item.subject, body_text=item.body_text, body_html=item.body_html,
        created_at=item.created_at, message_id=message_id, from_address=identity.address,
        from_name=shop_option(shop.settings, SENDER_NAME_SETTING) or shop.name or shop.domain,
        reply_to=reply_to)
    return OutgoingMessage(notification_id=item.id, envelope_from=identity.address,
                           recipient=envelope_address(item.recipient), message_id=message_id, data=data)


def backoff_seconds(attempts: int, policy: OutboxPolicy = DEFAULT_POLICY, rng: random.Random | None = None) -> float:
    delay = min(policy.backoff_cap, policy.backoff_base * 2 ** min(max(attempts - 1, 0), 32))
    return delay * (1 - policy.jitter * (rng or random).random())


def _error_text(exc: Exception, recipient: str | None) -> str:
    text = scrub(str(exc))
    if recipient:
        text = text.replace(recipient.strip(), "<recipient>")
    return text[:ERROR_MAX_CHARS]


# -- the scheduled job ------------------------------------------------------------------------------

class OutboxUnavailable(RuntimeError):
    """The mail server could not be reached; the job run records this error and the counts."""


def flush_outbox_job(runtime, counts: dict[str, Any]) -> None:
    """Scheduled job: flush batches until nothing is due (or only rate-limited rows are), ~50 s at most."""
    deadline = time.monotonic() + JOB_TIME_BUDGET_SECONDS
    counts.update(dict.fromkeys(COUNT_KEYS, 0), batches=0)
    while True:
        batch = flush_outbox(runtime)
        counts["batches"] += 1
        for key in COUNT_KEYS:
            counts[key] = batch[key] if key == "waiting_for_rate_limit" else counts[key] + batch[key]
        if "transport" in batch:
            counts["transport"] = batch["transport"]
        if "error" in batch:
            raise OutboxUnavailable(batch["error"])
        if batch["claimed"] == 0 or time.monotonic() > deadline:
            return
