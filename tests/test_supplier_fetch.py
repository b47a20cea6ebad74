"""Fetching supplier feeds over HTTP from a real local server (werkzeug on 127.0.0.1), not mocks.

The server serves a feed with ETag/Last-Modified (answering 304 to a matching conditional
request), a 404, a slow route, a flaky one (503 then 200), a 429 with Retry-After, one that
demands an API key, a redirect to another origin, and an oversized body.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugin.db.models import Supplier, SupplyLine, SupplyLineChange, SyncRun
from plugin.netguard import check_public_url, is_public_address
from plugin.suppliers.fetch import USER_AGENT, feed_session
from plugin.suppliers.fetch import fetch_feed as guarded_fetch_feed
from plugin.suppliers.services import create_supplier, sync_supplier
from tests.test_supplier_sync import lines, make_shop, snapshot

TODAY = date(2026, 6, 1)
FEED_V1 = b"sku,qty,eta,po,status\nLAMP-S,10,2026-07-01,PO-1,ordered\nRUG-01,2,2026-07-05,PO-1,shipped\n"
FEED_V2 = b"sku,qty,eta,po,status\nLAMP-S,10,2026-07-09,PO-1,ordered\nRUG-01,2,2026-07-05,PO-1,shipped\n"
API_KEY_HEADER = "X-Api-Key"
SECRET = "s3cret-feed-key"


def fetch_feed(*args, **kwargs):
    """The feed servers here listen on 127.0.0.1, which production refuses (see the guard tests)."""
    return guarded_fetch_feed(*args, allow_private=True, **kwargs)


@dataclass
class FeedServer:
    url: str = ""
    body: bytes = FEED_V1
    etag: str = '"v1"'
    last_modified: str = "Mon, 01 Jun 2026 08:00:00 GMT"
    hits: dict[str, int] = field(default_factory=dict)
    seen: list[dict] = field(default_factory=list)  # request headers, in order
    failures_left: int = 0

    def reset(self):
        self.body, self.etag = FEED_V1, '"v1"'
        self.hits.clear()
        self.seen.clear()
        self.failures_left = 0

    def app(self, environ, start_response):
        request = Request(environ)
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.seen.append(dict(request.headers))
        response = self.route(request, path)
        return response(environ, start_response)

    def route(self, request: Request, path: str) -> Response:
        if path == "/feed.csv":
            if request.headers.get("If-None-Match") == self.etag or (
                    "If-None-Match" not in request.headers
                    and request.headers.get("If-Modified-Since") == self.last_modified):
                return Response(status=304, headers={"ETag": self.etag})
            return Response(self.body, content_type="text/csv",
                            headers={"ETag": self.etag, "Last-Modified": self.last_modified})
        if path == "/slow.csv":
            time.sleep(1.0)
            return Response(self.body, content_type="text/csv")
        if path == "/flaky.csv":
            if self.failures_left > 0:
                self.failures_left -= 1
                return Response("busy", status=503)
            return Response(self.body, content_type="text/csv")
        if path == "/limited.csv":
            if self.hits[path] == 1:
                return Response("slow down", status=429, headers={"Retry-After": "0"})
            return Response(self.body, content_type="text/csv")
        if path == "/private.csv":
            if request.headers.get(API_KEY_HEADER) != SECRET:
                return Response("unauthorised", status=401)
            return Response(self.body, content_type="text/csv")
        if path == "/moved.csv":  # same path, other origin: localhost is not 127.0.0.1
            port = request.host.rsplit(":", 1)[1]
            return Response(status=302, headers={"Location": f"http://localhost:{port}/private.csv"})
        if path == "/here.csv":
            return Response(status=301, headers={"Location": "/private.csv"})
        if path == "/huge.csv":
            return Response(b"sku,qty,eta,po\n" + b"A,1,2026-07-01,P\n" * 5000, content_type="text/csv")
        if path == "/stream.csv":  # no Content-Length: the cap must hold while reading
            return Response((b"A,1,2026-07-01,P\n" * 100 for _ in range(50)), content_type="text/csv")
        if path == "/feed.json":
            return Response(b'[{"sku": "LAMP-S", "qty": 3, "eta": "2026-07-01", "po": "PO-J"}]',
                            content_type="application/json")
        return Response("not here", status=404)


@pytest.fixture(scope="module")
def server():
    feed = FeedServer()
    httpd = make_server("127.0.0.1", 0, feed.app, threaded=True)
    feed.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, name="feed-server", daemon=True)
    thread.start()
    yield feed
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def feeds(server) -> FeedServer:
    server.reset()
    return server


def supplier_at(url: str, **fields) -> SimpleNamespace:
    values = dict(id=1, feed_url=url, feed_auth_header=None, feed_etag=None, feed_last_modified=None)
    values.update(fields)
    return SimpleNamespace(**values)


def fast_session():
    return feed_session(retries=3, backoff_factor=0)


def refused_url() -> str:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.csv"


# -- fetch_feed ----------------------------------------------------------------------------------
def test_a_feed_is_downloaded_with_its_validators_and_our_user_agent(feeds):
    result = fetch_feed(supplier_at(feeds.url + "/feed.csv"), fast_session())
    assert (result.status, result.body, result.etag, result.http_status) == ("ok", FEED_V1, '"v1"', 200)
    assert result.last_modified == feeds.last_modified and result.content_type.startswith("text/csv")
    assert feeds.seen[-1]["User-Agent"] == USER_AGENT
    assert "If-None-Match" not in feeds.seen[-1]


def test_conditional_requests_get_304_not_modified(feeds):
    result = fetch_feed(supplier_at(feeds.url + "/feed.csv", feed_etag='"v1"'), fast_session())
    assert (result.status, result.body, result.etag) == ("not_modified", None, '"v1"')
    assert feeds.seen[-1]["If-None-Match"] == '"v1"'
    by_date = fetch_feed(supplier_at(feeds.url + "/feed.csv", feed_last_modified=feeds.last_modified), fast_session())
    assert by_date.status == "not_modified"
    assert feeds.seen[-1]["If-Modified-Since"] == feeds.last_modified


@pytest.mark.parametrize("path, expected", [("/nothing.csv", "HTTP 404 NOT FOUND"), ("/private.csv", "HTTP 401")])
def test_http_errors_fail_with_the_status(feeds, path, expected):
    result = fetch_feed(supplier_at(feeds.url + path + "?token=do-not-show"), fast_session())
    assert result.status == "failed" and result.body is None and result.http_status in (401, 404)
    assert expected in result.error.upper()
    assert "do-not-show" not in result.error  # query strings may carry tokens
    assert feeds.hits[path] == 1  # a 4xx is not retried


def test_a_slow_server_times_out(feeds):
    started = time.monotonic()
    result = fetch_feed(supplier_at(feeds.url + "/slow.csv"), feed_session(retries=0), timeout=(2, 0.2))
    assert result.status == "failed" and "read timeout" in result.error
    assert time.monotonic() - started < 1.0


def test_a_refused_connection_fails_clearly():
    result = fetch_feed(supplier_at(refused_url()), fast_session())
    assert result.status == "failed" and "connection refused" in result.error


def test_server_errors_and_429_are_retried(feeds):
    feeds.failures_left = 2
    result = fetch_feed(supplier_at(feeds.url + "/flaky.csv"), fast_session())
    assert result.status == "ok" and feeds.hits["/flaky.csv"] == 3
    limited = fetch_feed(supplier_at(feeds.url + "/limited.csv"), fast_session())
    assert limited.status == "ok" and feeds.hits["/limited.csv"] == 2
    feeds.failures_left = 10
    gave_up = fetch_feed(supplier_at(feeds.url + "/flaky.csv"), fast_session())
    assert gave_up.status == "failed" and "HTTP 503" in gave_up.error


def test_the_auth_header_is_sent_but_never_shown_nor_carried_to_another_origin(feeds, caplog):
    caplog.set_level(logging.DEBUG)
    auth = f"{API_KEY_HEADER}: {SECRET}"
    assert fetch_feed(supplier_at(feeds.url + "/private.csv", feed_auth_header=auth), fast_session()).status == "ok"
    assert feeds.seen[-1][API_KEY_HEADER] == SECRET
    # Same-origin redirect: the key follows. Another origin: it is dropped, so the feed refuses us.
    assert fetch_feed(supplier_at(feeds.url + "/here.csv", feed_auth_header=auth), fast_session()).status == "ok"
    moved = fetch_feed(supplier_at(feeds.url + "/moved.csv", feed_auth_header=auth), fast_session())
    assert moved.status == "failed" and "401" in moved.error
    assert API_KEY_HEADER not in feeds.seen[-1]
    bad = fetch_feed(supplier_at(feeds.url + "/private.csv", feed_auth_header=f"{SECRET} no colon"), fast_session())
    assert bad.status == "failed" and "Name: value" in bad.error
    everything = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert SECRET not in everything and SECRET not in moved.error + bad.error


def test_oversized_feeds_and_bad_urls_are_refused(feeds):
    for path in ("/huge.csv", "/stream.csv"):
        huge = fetch_feed(supplier_at(feeds.url + path), fast_session(), max_bytes=10_000)
        assert huge.status == "failed" and "more than the 10000 bytes allowed" in huge.error, path
    for url, message in [(None, "no feed URL"), ("ftp://x.example/f.csv", "http"), ("http://", "http")]:
        result = fetch_feed(supplier_at(url), fast_session())
        assert result.status == "failed" and message in result.error


# -- sync_supplier over HTTP (both databases) ---------------------------------------------------------
@pytest.fixture
def shop_id(runtime) -> int:
    return make_shop(runtime)


def url_supplier(runtime, shop_id, url: str, **extra) -> int:
    return create_supplier(runtime, shop_id, name="Feed supplier", feed_kind="url", feed_url=url, **extra).id


def sync(runtime, shop_id, supplier_id, **kwargs) -> SyncRun:
    kwargs.setdefault("session", fast_session())
    return sync_supplier(runtime, shop_id, supplier_id, source="url", today=TODAY, **kwargs)


def stored(runtime, shop_id, supplier_id) -> Supplier:
    with runtime.db.shop_session(shop_id) as session:
        return session.get(Supplier, supplier_id)


def test_url_sync_then_304_then_a_new_version(runtime, shop_id, feeds):
    supplier_id = url_supplier(runtime, shop_id, feeds.url + "/feed.csv")
    first = sync(runtime, shop_id, supplier_id)
    assert (first.status, first.rows_applied) == ("ok", 2)
    assert (stored(runtime, shop_id, supplier_id).feed_etag, stored(runtime, shop_id, supplier_id).feed_last_modified) == (
        '"v1"', feeds.last_modified)
    before = snapshot(runtime, shop_id)

    unchanged = sync(runtime, shop_id, supplier_id)
    assert (unchanged.status, unchanged.rows_total, unchanged.rows_applied) == ("not_modified", 0, 0)
    assert feeds.seen[-1]["If-None-Match"] == '"v1"'
    assert snapshot(runtime, shop_id) == before

    feeds.body, feeds.etag = FEED_V2, '"v2"'
    moved = sync(runtime, shop_id, supplier_id)
    assert (moved.status, moved.rows_applied, moved.rows_unchanged) == ("ok", 1, 1)
    line = lines(runtime, shop_id)[("PO-1", "LAMP-S")]
    assert (line.promised_date, line.expected_date) == (date(2026, 7, 1), date(2026, 7, 9))
    assert stored(runtime, shop_id, supplier_id).feed_etag == '"v2"'
    with runtime.db.shop_session(shop_id) as session:
        statuses = [r.status for r in session.scalars(select(SyncRun).order_by(SyncRun.id))]
    assert statuses == ["ok", "not_modified", "ok"]


@pytest.mark.parametrize("where, reason", [("/nothing.csv", "HTTP 404"), ("/slow.csv", "read timeout"),
                                           ("refused", "connection refused")])
def test_a_failed_download_changes_nothing_and_records_why(runtime, shop_id, feeds, where, reason):
    supplier_id = url_supplier(runtime, shop_id, feeds.url + "/feed.csv")
    assert sync(runtime, shop_id, supplier_id).status == "ok"
    before, etag = snapshot(runtime, shop_id), stored(runtime, shop_id, supplier_id).feed_etag
    with runtime.db.shop_session(shop_id) as session:
        session.get(Supplier, supplier_id).feed_url = refused_url() if where == "refused" else feeds.url + where
    run = sync(runtime, shop_id, supplier_id, timeout=(2, 0.2), session=feed_session(retries=1, backoff_factor=0))
    assert run.status == "failed" and reason in run.message and "nothing changed" in run.message
    assert snapshot(runtime, shop_id) == before  # previous ETAs kept
    assert stored(runtime, shop_id, supplier_id).feed_etag == etag
    with runtime.db.shop_session(shop_id) as session:
        saved = session.get(SyncRun, run.id)
        assert (saved.status, saved.message) == ("failed", run.message)
        assert session.query(SupplyLine).count() == 2 and session.query(SupplyLineChange).count() == 2


def test_json_by_content_type_and_partial_feeds_are_read_again_in_full(runtime, shop_id, feeds):
    supplier_id = url_supplier(runtime, shop_id, feeds.url + "/feed.json")
    assert sync(runtime, shop_id, supplier_id).status == "ok"
    assert ("PO-J", "LAMP-S") in lines(runtime, shop_id)
    feeds.body = FEED_V1 + b"NOPE,1,2026-07-01,PO-2,ordered\n"
    with runtime.db.shop_session(shop_id) as session:
        session.get(Supplier, supplier_id).feed_url = feeds.url + "/feed.csv"
    partial = sync(runtime, shop_id, supplier_id)
    assert partial.status == "partial" and "unknown SKU 'NOPE'" in partial.errors[0]["reason"]
    assert stored(runtime, shop_id, supplier_id).feed_etag is None  # so the next sync is not a 304
    assert sync(runtime, shop_id, supplier_id).status == "partial"


# -- the private-network guard ----------------------------------------------------------------------
def test_feeds_on_private_or_local_addresses_are_refused_unless_allowed(feeds):
    refused = guarded_fetch_feed(supplier_at(feeds.url + "/feed.csv"), fast_session())
    assert refused.status == "failed" and "private or local network address" in refused.error
    assert feeds.hits.get("/feed.csv", 0) == 0  # refused before any request left
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                    "100.64.0.1", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"):
        assert not is_public_address(address), address
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        assert is_public_address(address), address
    check_public_url("https://93.184.216.34/feed.csv")  # a public literal passes without DNS
    with pytest.raises(ValueError, match="private or local"):
        check_public_url("http://[::1]:8080/feed.csv")
    check_public_url("http://127.0.0.1/feed.csv", allow_private=True)


def test_a_redirect_into_the_private_network_is_refused(feeds, monkeypatch):
    """The first hop is allowed (as if public); its redirect to 127.0.0.1 is refused."""
    import plugin.suppliers.fetch as fetch

    real = fetch.check_public_url
    first = {"seen": False}

    def public_first_hop(url, *, allow_private=False, what="the URL"):
        if not first["seen"]:
            first["seen"] = True
            return None
        return real(url, allow_private=allow_private, what=what)

    monkeypatch.setattr(fetch, "check_public_url", public_first_hop)
    result = guarded_fetch_feed(supplier_at(feeds.url + "/moved.csv"), fast_session())
    assert result.status == "failed" and "a redirect of the feed points to a private" in result.error
