"""The demo's two suppliers: who they are, six months of purchase orders, and the feed one publishes.

"Nordic Oak Works" (desks and rugs; punctual) publishes its PO status report as a CSV at a URL,
served here with ETag / Last-Modified so the app's conditional GET is exercised. "Linen & Light"
(lamps; usually about a week late) emails a spreadsheet that the merchant uploads: day-first
dates and its own column names ("PO Number", "Due Date", "Date Received"...).

Nothing is written around the app's services. Each supplier's purchase orders are a timeline
(`DemoLine`: placed, promised, revised, shipped, received, as days relative to the demo's first
start), and its history is *replayed*: for every day on which something happened, the supplier's
report as of that day is synced with `sync_supplier(..., today=that day)`, the URL feed through
`fetch_feed` like any other. So PO lines are created with their first promise, date moves and
receipts become `supply_line_changes`, and the lateness model learns from promised vs received
dates exactly as it would from a real supplier. (The rows' `changed_at` and the sync runs' times
are when the demo replayed them: the app learnt them then.)

Idempotent across starts of `make run` on the same instance/ database:
* Days are relative to the anchor, the day the first demo supplier was created (read back from
  its row), so a start on a later day serves the same feed (same ETag: the scheduler's sync
  answers not_modified) instead of moving every date.
* Each replay day records one sync run, so a supplier with N runs has had its first N days
  replayed; a start resumes after them (nothing left: nothing done). A supplier is found by name.

Before the server listens, the URL feed is fetched through `SupplierFeeds.session`, a requests
session that hands requests for the feed's own URL to this WSGI app in process; once `make run`
serves, the scheduler fetches the same URL over the network.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from sqlalchemy import func, select
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from plugin.db.models import Supplier, SyncRun
from plugin.suppliers.fetch import feed_session
from plugin.suppliers.services import create_supplier, sync_supplier

FEEDS_MOUNT = "/_fake/suppliers"  # where the demo mounts SupplierFeeds.wsgi_app, beside the dev store


class DemoSeedError(RuntimeError):
    """A replayed sync of the demo's own data did not apply cleanly: a bug, said loudly at start."""


@dataclass(frozen=True)
class DemoLine:
    """One PO line as the supplier's own system tracks it; days are relative to the anchor."""

    po: str
    sku: str
    quantity: int
    placed: int
    promised: int
    revised: tuple[tuple[int, int], ...] = ()  # (day the supplier said so, new expected day)
    shipped: int | None = None
    received: int | None = None
    tracking: str | None = None

    def as_of(self, day: int) -> dict | None:
        """The line in the supplier's report on `day` (None: not placed yet)."""
        if day < self.placed:
            return None
        expected = self.promised
        for told, new in self.revised:
            if told <= day:
                expected = new
        if self.received is not None and self.received <= day:
            status = "received"
        elif self.shipped is not None and self.shipped <= day:
            status = "shipped"
        else:
            status = "ordered"
        return {"po": self.po, "sku": self.sku, "quantity": self.quantity, "expected": expected, "status": status,
                "tracking": self.tracking if status != "ordered" else None,
                "received": self.received if status == "received" else None}

    def event_days(self) -> set[int]:
        days = {self.placed, *(told for told, _new in self.revised)}
        return days | {d for d in (self.shipped, self.received) if d is not None}


@dataclass(frozen=True)
class DemoSupplier:
    slug: str
    name: str
    email: str
    lead_time_days: int
    lead_time_spread_days: int
    handling_days: int
    feed_kind: str  # url | upload
    primary: tuple[str, ...]
    substitutes: tuple[str, ...]
    lines: tuple[DemoLine, ...]
    day_first: bool = False  # the spreadsheet's dates: 14/07/2026 rather than 2026-07-14
    sync_interval_minutes: int = 360

    def replay_days(self) -> list[int]:
        """The days up to the anchor on which the supplier's report changed."""
        return sorted(d for d in set().union(*(line.event_days() for line in self.lines)) if d <= 0)

    def report(self, anchor: date, day: int = 0) -> bytes:
        """The supplier's PO status report on anchor + day, as the CSV they publish or send."""
        if self.day_first:  # a spreadsheet: its own headings and words, dates as 14/07/2026
            header = ["PO Number", "Item", "Qty", "Due Date", "Status", "Tracking No", "Date Received"]
            words, date_format = {"ordered": "Open", "shipped": "Dispatched", "received": "Delivered"}, "%d/%m/%Y"
        else:
            header = ["po_reference", "sku", "quantity", "expected_date", "status", "tracking", "received_date"]
            words, date_format = {"ordered": "ordered", "shipped": "shipped", "received": "received"}, "%Y-%m-%d"

        def when(offset: int | None) -> str:
            return "" if offset is None else (anchor + timedelta(days=offset)).strftime(date_format)

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for row in filter(None, (line.as_of(day) for line in self.lines)):
            writer.writerow([row["po"], row["sku"], row["quantity"], when(row["expected"]), words[row["status"]],
                             row["tracking"] or "", when(row["received"])])
        return out.getvalue().encode("utf-8")

    def last_change(self, day: int = 0) -> int:
        return max(d for d in self.replay_days() if d <= day)


# Punctual: receipts within a couple of days of the promise, either side.
NORDIC_OAK = DemoSupplier(
    slug="nordic-oak-works", name="Nordic Oak Works", email="orders@nordic-oak.example",
    lead_time_days=21, lead_time_spread_days=3, handling_days=1, feed_kind="url",
    primary=("DESK-OAK", "RUG-WOOL"), substitutes=("LAMP-LINEN-L",), sync_interval_minutes=60,
    lines=(
        DemoLine("NOW-2401", "DESK-OAK", 6, placed=-178, promised=-157, shipped=-161, received=-157,
                 tracking="DHL 4021 7755 01"),
        DemoLine("NOW-2407", "DESK-OAK", 4, placed=-150, promised=-129, shipped=-133, received=-130,
                 tracking="DHL 4021 9310 44"),
        DemoLine("NOW-2407", "RUG-WOOL", 10, placed=-150, promised=-129, shipped=-133, received=-129,
                 tracking="DHL 4021 9310 44"),
        DemoLine("NOW-2415", "DESK-OAK", 8, placed=-121, promised=-100, revised=((-105, -98),), shipped=-102,
                 received=-98, tracking="DHL 4022 1187 90"),
        DemoLine("NOW-2422", "RUG-WOOL", 6, placed=-95, promised=-74, shipped=-78, received=-74,
                 tracking="DHL 4022 5561 12"),
        DemoLine("NOW-2430", "DESK-OAK", 6, placed=-72, promised=-51, shipped=-55, received=-50,
                 tracking="DHL 4022 8802 37"),
        DemoLine("NOW-2436", "DESK-OAK", 5, placed=-50, promised=-29, shipped=-33, received=-29,
                 tracking="DHL 4023 0419 65"),
        DemoLine("NOW-2436", "RUG-WOOL", 8, placed=-50, promised=-29, shipped=-34, received=-31,
                 tracking="DHL 4023 0419 66"),
        DemoLine("NOW-2441", "DESK-OAK", 6, placed=-30, promised=-9, shipped=-13, received=-8,
                 tracking="DHL 4023 3350 08"),
        # Open: on the water, due in five days; and a fresh order behind it.
        DemoLine("NOW-2448", "DESK-OAK", 8, placed=-16, promised=5, shipped=-1, tracking="DHL 4023 6174 21"),
        DemoLine("NOW-2448", "RUG-WOOL", 6, placed=-16, promised=5, shipped=-1, tracking="DHL 4023 6174 21"),
        DemoLine("NOW-2453", "DESK-OAK", 6, placed=-3, promised=18),
    ),
)

# Often a week late, sometimes two; moves its dates at the last minute.
LINEN_LIGHT = DemoSupplier(
    slug="linen-and-light", name="Linen & Light", email="hello@linenandlight.example",
    lead_time_days=28, lead_time_spread_days=7, handling_days=2, feed_kind="upload", day_first=True,
    primary=("LAMP-LINEN-S", "LAMP-LINEN-L"), substitutes=("RUG-WOOL",),
    lines=(
        DemoLine("LL-0101", "LAMP-LINEN-S", 12, placed=-182, promised=-154, revised=((-156, -147),), received=-146),
        DemoLine("LL-0101", "LAMP-LINEN-L", 8, placed=-182, promised=-154, revised=((-156, -147),), received=-146),
        DemoLine("LL-0104", "LAMP-LINEN-S", 10, placed=-140, promised=-112, received=-105),
        DemoLine("LL-0108", "LAMP-LINEN-L", 10, placed=-120, promised=-92, received=-93),
        DemoLine("LL-0111", "LAMP-LINEN-S", 15, placed=-98, promised=-70, revised=((-72, -63), (-64, -58)),
                 shipped=-61, received=-57, tracking="RM 88213 4410 GB"),
        DemoLine("LL-0115", "LAMP-LINEN-L", 6, placed=-75, promised=-47, received=-44),
        DemoLine("LL-0118", "LAMP-LINEN-S", 10, placed=-60, promised=-32, revised=((-33, -25),), received=-24),
        DemoLine("LL-0118", "RUG-WOOL", 4, placed=-60, promised=-32, revised=((-33, -25),), received=-22),
        DemoLine("LL-0122", "LAMP-LINEN-L", 6, placed=-45, promised=-17, received=-10),
        # Open and overdue: promised twelve days ago, no word since.
        DemoLine("LL-0126", "LAMP-LINEN-S", 12, placed=-40, promised=-12),
        DemoLine("LL-0130", "LAMP-LINEN-S", 10, placed=-5, promised=23),
        DemoLine("LL-0130", "LAMP-LINEN-L", 6, placed=-5, promised=23),
    ),
)

DEMO_SUPPLIERS = (NORDIC_OAK, LINEN_LIGHT)


# -- the suppliers' side: published feeds ---------------------------------------------------------
@dataclass
class _Published:
    supplier: DemoSupplier
    anchor: date
    day: int
    body: bytes = b""
    etag: str = ""
    last_modified: datetime | None = None


@dataclass
class SupplierFeeds:
    """The demo suppliers' own systems: each URL supplier's current report at /<slug>.csv."""

    published: dict[str, _Published] = field(default_factory=dict)

    def publish(self, supplier: DemoSupplier, anchor: date, day: int = 0) -> None:
        body = supplier.report(anchor, day)
        changed = anchor + timedelta(days=supplier.last_change(day))
        self.published[supplier.slug] = _Published(
            supplier, anchor, day, body, hashlib.sha256(body).hexdigest()[:20],
            datetime.combine(changed, time.min, tzinfo=timezone.utc))

    def url(self, public_url: str, supplier: DemoSupplier) -> str:
        return f"{public_url}{FEEDS_MOUNT}/{supplier.slug}.csv"

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        slug = request.path.strip("/").removesuffix(".csv")
        feed = self.published.get(slug) if request.path.endswith(".csv") else None
        if request.method not in ("GET", "HEAD"):
            response = Response("method not allowed", status=405, headers={"Allow": "GET, HEAD"})
        elif feed is None:
            response = Response("no such feed", status=404, mimetype="text/plain")
        else:
            response = Response(feed.body, mimetype="text/csv")
            response.set_etag(feed.etag)
            response.last_modified = feed.last_modified
            response.cache_control.no_cache = True
            response = response.make_conditional(request)  # 304 on If-None-Match / If-Modified-Since
        return response(environ, start_response)

    def session(self, public_url: str) -> requests.Session:
        """feed_session(), but requests for these feeds' URLs go to this app in process."""
        session = feed_session()
        session.mount(f"{public_url}{FEEDS_MOUNT}/", _WSGIAdapter(self.wsgi_app, FEEDS_MOUNT))
        return session


class _WSGIAdapter(BaseAdapter):
    """A requests transport that calls a WSGI app mounted at `mount` instead of opening a socket."""

    def __init__(self, app, mount: str):
        super().__init__()
        self.client = Client(app)
        self.mount = mount

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        answer = self.client.open(parts.path.removeprefix(self.mount) or "/", method=request.method,
                                  base_url=f"{parts.scheme}://{parts.netloc}{self.mount}",
                                  query_string=parts.query, headers=list(request.headers.items()),
                                  data=request.body or b"")
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(answer.get_data())
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


# -- seeding ---------------------------------------------------------------------------------------
def seed_demo_suppliers(runtime, shop_id: int, feeds: SupplierFeeds) -> dict[str, int]:
    """Create the demo suppliers and replay their history, once; publish the URL feeds every start.

    Returns supplier name -> id.
    """
    public_url = runtime.settings.public_url
    http = feeds.session(public_url)
    anchor: date | None = None
    ids: dict[str, int] = {}
    try:
        for spec in DEMO_SUPPLIERS:
            supplier = _find_or_create(runtime, shop_id, spec, feeds.url(public_url, spec))
            anchor = anchor or supplier.created_at.astimezone(timezone.utc).date()
            ids[spec.name] = supplier.id
            _replay(runtime, shop_id, supplier.id, spec, anchor, feeds, http)
            if spec.feed_kind == "url":
                feeds.publish(spec, anchor)
    finally:
        http.close()
    return ids


def _find_or_create(runtime, shop_id: int, spec: DemoSupplier, feed_url: str) -> Supplier:
    with runtime.db.shop_session(shop_id) as session:
        found = session.scalars(select(Supplier).where(Supplier.name == spec.name)).one_or_none()
        if found is not None:
            session.expunge(found)
            return found
    return create_supplier(
        runtime, shop_id, name=spec.name, email=spec.email, lead_time_days=spec.lead_time_days,
        lead_time_spread_days=spec.lead_time_spread_days, handling_days=spec.handling_days,
        feed_kind=spec.feed_kind, feed_url=feed_url if spec.feed_kind == "url" else None, feed_format="csv",
        sync_interval_minutes=spec.sync_interval_minutes, primary_skus=spec.primary,
        substitute_skus=spec.substitutes)


def _replay(runtime, shop_id: int, supplier_id: int, spec: DemoSupplier, anchor: date, feeds: SupplierFeeds,
            http: requests.Session) -> None:
    with runtime.db.shop_session(shop_id) as session:
        done = session.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.supplier_id == supplier_id))
    for day in spec.replay_days()[done:]:
        today = anchor + timedelta(days=day)
        if spec.feed_kind == "url":
            feeds.publish(spec, anchor, day)
            run = sync_supplier(runtime, shop_id, supplier_id, source="url", session=http, today=today)
        else:
            run = sync_supplier(runtime, shop_id, supplier_id, source="upload", body=spec.report(anchor, day),
                                today=today)
        if run.status != "ok":
            raise DemoSeedError(f"demo supplier {spec.name!r}, replay of {today}: sync {run.status}: "
                                f"{run.message} {run.errors[:3]}")
