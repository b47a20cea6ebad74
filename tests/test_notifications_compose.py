"""The recompute's event messages: stored unrendered in bulk, rendered by the outbox before it
sends, never claimed half-made; on both databases, against a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from plugin.admin.email_queries import list_emails
from plugin.admin.email_schemas import EmailLogQuery
from plugin.db.models import Notification, Shop
from plugin.notifications import outbox_rows
from plugin.notifications.compose import compose_pending
from plugin.notifications.enqueue import queue_event_messages
from plugin.notifications.outbox import flush_outbox
from plugin.runtime import build_runtime
from tests.test_notifications_enqueue import PROMISED, Shopfront, delay, refund_offer


@pytest.fixture
def runtime(database_url, settings_factory, smtp):
    rt = build_runtime(settings_factory(database_url, smtp_url=smtp.url()))
    yield rt
    rt.close()


def queue(front: Shopfront, *events) -> list[int]:
    with front.runtime.db.shop_session(front.shop_id) as session:
        return queue_event_messages(front.runtime, session, session.get(Shop, front.shop_id), list(events))


def rows(runtime, ids) -> list[Notification]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


def test_event_messages_are_stored_unrendered_then_rendered_and_sent_once(runtime, smtp):
    front = Shopfront(runtime)
    order_id, [backorder_id] = front.order(locale="pl-PL", name="Anna Kowalska")
    [row_id] = queue(front, delay(backorder_id, new=PROMISED + timedelta(days=10)))
    [stored] = rows(runtime, [row_id])
    assert stored.status == "pending" and stored.recipient == "anna@example.com"
    assert (stored.subject, stored.body_text, stored.body_html) == (None, None, None)
    assert stored.context["change"]["new_date"] == "2026-12-25"

    # The claim never takes a row that is not rendered yet, whoever asks.
    counts: dict = {"waiting_for_rate_limit": 0, "skipped": 0}
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)
                              .where(outbox_rows.due_condition(stored.created_at + timedelta(hours=1)))) == 0
    claimed, _ = outbox_rows.claim(runtime, "test", 10, stored.created_at + timedelta(hours=1),
                                   lease_seconds=60, rate_window_seconds=60, counts=counts)
    assert claimed == []

    result = flush_outbox(runtime)
    assert (result["composed"], result["claimed"], result["sent"]) == (1, 1, 1)
    [sent] = rows(runtime, [row_id])
    assert sent.status == "sent" and sent.subject == "Zamówienie #1001: nowy termin wysyłki"
    assert "Nowy termin: 25 grudnia 2026" in sent.body_text and "Anna Kowalska" in sent.body_html
    [message] = smtp.sink.messages
    parsed = email.message_from_bytes(message.data, policy=policy.default)
    assert parsed["Subject"] == sent.subject and message.rcpt_tos == ("anna@example.com",)
    assert flush_outbox(runtime)["claimed"] == 0 and len(smtp.sink.messages) == 1


def test_thousands_of_events_in_one_call_each_get_one_row_and_only_this_shops_lines(runtime, smtp):
    front = Shopfront(runtime)
    other = Shopfront(runtime, domain="other.myshopify.com")
    _, [foreign] = other.order()
    lines = [front.order(locale="en")[1][0] for _ in range(60)]
    events = [delay(b, version=v) for b in lines for v in range(2, 13)]  # 660 events: more than a batch
    events += [refund_offer(lines[0], version=2), delay(foreign)]
    created = queue(front, *events)
    assert len(created) == 661  # every (kind, line, version) once; the other shop's line is not ours
    stored = rows(runtime, created)
    assert {row.shop_id for row in stored} == {front.shop_id}
    by_key = {row.idempotency_key: row for row in stored}
    assert by_key[f"delay:backorder:{lines[0]}:v2"].status == "skipped"  # the offer says it
    assert by_key[f"refund_offer:backorder:{lines[0]}:v2"].status == "pending"
    assert queue(front, *events) == []  # asking again creates nothing

    assert compose_pending(runtime, limit=10_000) == {"composed": 660, "unrenderable": 0}
    rendered = rows(runtime, created)
    pending = [row for row in rendered if row.status == "pending"]
    assert len(pending) == 660 and all(row.subject and row.body_text and row.body_html for row in pending)
    skipped = [row for row in rendered if row.status == "skipped"]
    assert [row.subject for row in skipped] == [None]  # never sent, never rendered


def test_a_row_that_cannot_be_rendered_goes_dead_with_the_reason_and_the_rest_are_sent(runtime, smtp):
    front = Shopfront(runtime)
    _, [a] = front.order(locale="en")
    _, [b] = front.order(locale="en")
    first, second = queue(front, delay(a), delay(b))
    with runtime.db.session() as session:
        broken = session.get(Notification, first)
        broken.context = {"kind": "no-such-kind", "locale": "en"}
    result = flush_outbox(runtime)
    assert (result["composed"], result["sent"]) == (1, 1)
    dead, sent = rows(runtime, [first, second])
    assert dead.status == "dead" and dead.reason.startswith("could not be rendered:")
    assert sent.status == "sent" and [m.rcpt_tos for m in smtp.sink.messages] == [("anna@example.com",)]


def test_the_admin_log_shows_the_subject_of_rows_not_rendered(runtime, smtp):
    front = Shopfront(runtime)
    _, [backorder_id] = front.order(locale="en", email=None)
    _, [waiting] = front.order(locale="en")
    queue(front, delay(backorder_id), delay(waiting))
    page = list_emails(runtime, front.shop_id, EmailLogQuery())
    assert {(row.status, row.subject) for row in page.rows} == {
        ("skipped", "Order #1001: new ship date"), ("pending", "Order #1002: new ship date")}
