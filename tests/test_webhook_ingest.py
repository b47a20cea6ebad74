"""POST /webhooks/shopify: verify, store once, answer - and what happens to bad deliveries."""
import json
import time
import pytest

from sqlalchemy import func, select

from plugin.db.models import Shop, WebhookEvent
from tests.conftest import API_SECRET, OLD_API_SECRET
from tests.shopify_samples import sample, webhook_headers
from tests.flow_helpers import drain

SHOP = "ingest-shop.myshopify.com"


def _events(runtime):
    with runtime.db.session() as s:
        return s.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()


def _post(client, body: bytes, headers):
    return client.post("/webhooks/shopify", data=body, headers=headers)


def _order_body():
    return json.dumps(sample("orders/create")).encode()


def test_signed_webhook_is_stored_once_and_acknowledged(client, runtime):
    body = _order_body()
    headers = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-1")
    response = _post(client, body, headers)
    assert response.status_code == 200
    [event] = _events(runtime)
    assert (event.platform, event.topic, event.shop_domain, event.dedupe_key) == ("shopify", "orders/create", SHOP, "evt-1")
    assert event.status == "pending"
    assert json.loads(event.body) == json.loads(body)
    # The signature is never kept; the platform's identity headers are.
    assert "x-shopify-hmac-sha256" not in event.headers
    assert event.headers["x-shopify-webhook-id"] == headers["X-Shopify-Webhook-Id"]


def test_deliveries_are_answered_before_flask_and_other_requests_reach_it(client, app, runtime):
    from flask import request_started

    started = []

    def seen(sender, **extra):
        started.append(1)

    body = _order_body()
    request_started.connect(seen, app)
    try:
        response = _post(client, body, webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-fast"))
        assert response.status_code == 200 and response.get_json() == {"ok": True, "duplicate": False}
        assert response.headers["Content-Type"] == "application/json"
        assert started == []  # no Flask request context for a delivery
        assert client.get("/webhooks/shopify").status_code == 405  # other methods are Flask's
        assert len(started) == 1
    finally:
        request_started.disconnect(seen, app)
    assert [e.dedupe_key for e in _events(runtime)] == ["evt-fast"]


def test_the_flask_route_answers_a_delivery_the_same_way(app, runtime):
    """The blueprint's route stays a complete entrypoint (the fast path is an optimisation)."""
    body = _order_body()
    headers = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-flask")
    with app.test_request_context("/webhooks/shopify", method="POST", data=body, headers=headers):
        from webhooks.blueprint import receive

        response = receive("shopify")
    assert response.status_code == 200 and response.get_json() == {"ok": True, "duplicate": False}
    forged = dict(headers, **{"X-Shopify-Hmac-Sha256": "AAAA"})
    with app.test_request_context("/webhooks/shopify", method="POST", data=body, headers=forged):
        assert receive("shopify").status_code == 401
    assert [e.dedupe_key for e in _events(runtime)] == ["evt-flask"]


def test_a_delivery_that_cannot_be_stored_is_answered_500_so_the_platform_retries(client, runtime, monkeypatch):
    from webhooks.inbox import InboxWriter

    def broken(self, *args, **kwargs):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(InboxWriter, "store", broken)
    body = _order_body()
    response = _post(client, body, webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-down"))
    assert response.status_code == 500 and "error" in response.get_json()
    assert _events(runtime) == []


def test_a_delivery_opens_no_cookie_session_and_other_routes_keep_theirs(client, app, runtime):
    from flask import session
    from flask.sessions import SecureCookieSession

    body = _order_body()
    headers = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-cookie")
    client.set_cookie("session", "not-a-session-anyone-signed")
    response = _post(client, body, headers)
    assert response.status_code == 200 and response.get_json() == {"ok": True, "duplicate": False}
    assert "Set-Cookie" not in response.headers
    assert _post(client, body, headers).get_json() == {"ok": True, "duplicate": True}
    with app.test_request_context("/webhooks/shopify", method="POST"):
        app.preprocess_request()
        with pytest.raises(RuntimeError):  # the null session refuses writes
            session["x"] = 1
    with app.test_request_context("/connect/woocommerce"):
        assert isinstance(session._get_current_object(), SecureCookieSession)


def test_webhook_signed_with_the_previous_secret_is_accepted_during_rotation(client, runtime):
    body = _order_body()
    assert _post(client, body, webhook_headers("orders/create", SHOP, body, OLD_API_SECRET)).status_code == 200
    assert len(_events(runtime)) == 1


def test_forged_or_missing_signature_is_401_and_stores_nothing(client, runtime):
    body = _order_body()
    forged = webhook_headers("orders/create", SHOP, body, "not-the-secret")
    assert _post(client, body, forged).status_code == 401
    missing = webhook_headers("orders/create", SHOP, body, API_SECRET)
    del missing["X-Shopify-Hmac-Sha256"]
    assert _post(client, body, missing).status_code == 401
    tampered = webhook_headers("orders/create", SHOP, body, API_SECRET)
    assert _post(client, body.replace(b"jon@example.com", b"eve@example.com"), tampered).status_code == 401
    assert _events(runtime) == []


def test_redelivery_of_the_same_event_is_stored_once(client, runtime):
    body = _order_body()
    first = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-dup")
    again = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id="evt-dup")
    assert first["X-Shopify-Webhook-Id"] != again["X-Shopify-Webhook-Id"]
    assert _post(client, body, first).status_code == 200
    response = _post(client, body, again)
    assert response.status_code == 200 and response.get_json()["duplicate"] is True
    assert len(_events(runtime)) == 1


def test_webhook_id_is_the_dedupe_key_when_there_is_no_event_id(client, runtime):
    body = _order_body()
    headers = webhook_headers("orders/create", SHOP, body, API_SECRET, event_id=False, webhook_id="wh-7")
    assert _post(client, body, headers).status_code == 200
    assert _post(client, body, headers).status_code == 200
    [event] = _events(runtime)
    assert event.dedupe_key == "wh-7"


def test_body_over_5_mb_is_413_and_not_stored(client, runtime):
    body = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    assert _post(client, body, webhook_headers("orders/create", SHOP, body, API_SECRET)).status_code == 413
    assert _events(runtime) == []


def test_unknown_platform_is_404(client):
    assert client.post("/webhooks/nosuch", data=b"{}").status_code == 404


def _install(runtime, domain=SHOP, status="installed"):
    with runtime.db.session() as s:
        s.add(Shop(platform="shopify", domain=domain, status=status))


def test_bad_json_unknown_topic_and_unknown_shop_are_kept_with_a_reason(client, runtime):
    _install(runtime)
    _install(runtime, "gone-shop.myshopify.com", status="uninstalled")
    bad = b'{"id": 1, "line_items": ['
    ok_body = _order_body()
    deliveries = [
        (bad, webhook_headers("orders/create", SHOP, bad, API_SECRET, event_id="bad-json")),
        (ok_body, webhook_headers("products/create", SHOP, ok_body, API_SECRET, event_id="odd-topic")),
        (ok_body, webhook_headers("orders/create", "stranger.myshopify.com", ok_body, API_SECRET, event_id="no-shop")),
        (ok_body, webhook_headers("orders/create", "gone-shop.myshopify.com", ok_body, API_SECRET, event_id="gone")),
    ]
    for body, headers in deliveries:
        assert _post(client, body, headers).status_code == 200
    drain(runtime)
    by_key = {e.dedupe_key: e for e in _events(runtime)}
    assert by_key["bad-json"].status == "rejected" and by_key["bad-json"].reason
    assert by_key["odd-topic"].status == "ignored" and "topic" in by_key["odd-topic"].reason
    assert by_key["no-shop"].status == "ignored" and by_key["no-shop"].reason
    assert by_key["gone"].status == "ignored" and by_key["gone"].reason
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 4


def test_a_signed_body_that_cannot_be_json_text_is_200_and_kept_rejected(client, runtime):
    not_utf8 = b'{"id": 1, "note": "caf\xe9"}'  # Latin-1, not UTF-8
    with_nul = b'{"id": 2, "note": "a\x00b"}'  # PostgreSQL text cannot even hold it
    for key, body in (("latin-1", not_utf8), ("nul", with_nul)):
        assert _post(client, body, webhook_headers("orders/create", SHOP, body, API_SECRET, event_id=key)).status_code == 200
    by_key = {e.dedupe_key: e for e in _events(runtime)}
    assert by_key["latin-1"].status == "rejected" and "UTF-8" in by_key["latin-1"].reason
    assert by_key["nul"].status == "rejected" and "NUL" in by_key["nul"].reason
    assert all(e.processed_at is not None for e in by_key.values())
    assert drain(runtime) == 0  # final on arrival: the worker never retries them


def test_concurrent_deliveries_share_commits_and_each_is_stored_once(client, runtime, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from webhooks.inbox import InboxWriter

    batches = []
    insert_rows = InboxWriter._insert_rows

    def counted(self, batch):
        batches.append(len(batch))
        time.sleep(0.005)  # a commit takes a while: deliveries arriving meanwhile queue behind it
        return insert_rows(self, batch)

    monkeypatch.setattr(InboxWriter, "_insert_rows", counted)
    body = _order_body()
    # 40 events, each delivered twice at once (Shopify retries a slow delivery under a new webhook id).
    deliveries = [webhook_headers("orders/create", SHOP, body, API_SECRET, event_id=f"evt-{i % 40}") for i in range(80)]
    app = client.application

    def deliver(headers):
        with app.test_client() as c:
            response = _post(c, body, headers)
            return response.status_code, response.get_json()["duplicate"]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(deliver, deliveries))

    assert all(status == 200 for status, _ in answers)
    assert sum(1 for _, duplicate in answers if not duplicate) == 40  # each event "stored" exactly once
    assert sorted(e.dedupe_key for e in _events(runtime)) == sorted(f"evt-{i}" for i in range(40))
    assert sum(batches) == 80 and max(batches) > 1  # waiting deliveries went in together


def test_a_row_the_database_refuses_does_not_fail_the_rest_of_its_batch(runtime):
    from connectors.base import WebhookEnvelope
    from webhooks.inbox import InboxWriter, _Delivery, event_row

    writer = InboxWriter(runtime.db)
    good = [_Delivery(event_row("shopify", WebhookEnvelope("orders/create", SHOP, f"ok-{i}"), {}, b"{}"))
            for i in range(3)]
    bad = _Delivery(dict(event_row("shopify", WebhookEnvelope("orders/create", SHOP, "bad"), {}, b"{}"), topic=None))
    batch = [good[0], bad, good[1], good[2]]

    writer._write(batch)

    assert all(d.finished for d in batch)
    assert [d.stored for d in good] == [True, True, True] and bad.error is not None and not bad.stored
    assert sorted(e.dedupe_key for e in _events(runtime)) == ["ok-0", "ok-1", "ok-2"]


def test_a_connection_the_server_closed_is_replaced_without_failing_the_delivery(runtime):
    from connectors.base import WebhookEnvelope
    from webhooks.inbox import InboxWriter

    if runtime.db.is_sqlite:
        pytest.skip("only a database server closes connections")
    writer = InboxWriter(runtime.db)
    try:
        assert writer.store("shopify", WebhookEnvelope("orders/create", SHOP, "before"), {}, b"{}")
        backend = writer._conn.connection.dbapi_connection.info.backend_pid
        with runtime.db.engine.connect() as admin:  # a restart or failover would do the same
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")
        assert writer.store("shopify", WebhookEnvelope("orders/create", SHOP, "after"), {}, b"{}")
    finally:
        writer.close()
    assert [e.dedupe_key for e in _events(runtime)] == ["before", "after"]


def test_the_writer_stores_a_row_exactly_as_the_orm_does(runtime):
    """The inbox INSERT goes to the driver itself; every column must read back as the ORM wrote it."""
    from datetime import datetime, timezone

    from connectors.base import WebhookEnvelope
    from webhooks.inbox import InboxWriter, _Delivery, event_row

    now = datetime(2026, 12, 2, 6, 30, 15, 123456, tzinfo=timezone.utc)
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "wh-1", "X-Shopify-Hmac-Sha256": "sig"}
    body = '{"id": 7, "note": "zażółć"}'.encode()
    row = event_row("shopify", WebhookEnvelope("orders/create", SHOP, "driver"), headers, body, now=now)
    with runtime.db.session() as s:  # the same row through the ORM, under another key
        s.add(WebhookEvent(**dict(row, dedupe_key="orm")))

    writer = InboxWriter(runtime.db)
    try:
        assert writer._native  # both test databases take the driver path
        delivery = _Delivery(row)
        writer._write([delivery])
        assert delivery.stored and delivery.error is None
        assert not writer.store("shopify", WebhookEnvelope("orders/create", SHOP, "driver"), headers, body)
    finally:
        writer.close()

    with runtime.db.engine.connect() as conn:  # as stored, before any type conversion on the way out
        stored = {key: raw for key, *raw in conn.exec_driver_sql(
            "SELECT dedupe_key, next_attempt_at, headers, body, status, attempts FROM webhook_events")}
    assert stored["driver"][2:] == stored["orm"][2:]
    assert type(stored["driver"][0]) is type(stored["orm"][0])
    events = {e.dedupe_key: e for e in _events(runtime)}
    assert events["orm"].headers == {"x-shopify-topic": "orders/create", "x-shopify-webhook-id": "wh-1"}
    assert events["driver"].headers == events["orm"].headers
    assert events["driver"].body == body.decode()
    assert events["driver"].received_at == events["orm"].received_at == now
    assert events["driver"].status == "pending" and events["driver"].processed_at is None
