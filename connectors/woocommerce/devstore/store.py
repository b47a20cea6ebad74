"""The store's memory: ids, the clock, meta data and the events that webhooks turn into deliveries.

WordPress shares one ID sequence between posts of every type (products, variations, orders and
refunds, as in the classic posts storage), order items have their own, and meta rows have
theirs; dates are MySQL DATETIMEs, so every stored moment is truncated to the second. Not
thread-safe on its own: FakeWooCommerce holds its lock around every call.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo


@dataclass
class Meta:
    id: int
    key: str
    value: Any
    display_key: str | None = None  # line items: the label WooCommerce shows (an attribute's name)

    def rest(self) -> dict:
        return {"id": self.id, "key": self.key, "value": self.value}


def stored_value(value):
    """What a meta value reads back as after WordPress stored it (scalars come back as strings)."""
    if value is True:
        return "1"
    if value is False:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return value


def get_meta(meta: list[Meta], key: str, default=None):
    return next((m.value for m in meta if m.key == key), default)


def update_meta(meta: list[Meta], key: str, value, new_id: Callable[[], int], meta_id=None) -> None:
    """WC_Data::update_meta_data then save_meta_data: by id when given, else the first row with
    the key (other rows with that key are deleted); a None value deletes."""
    if meta_id not in (None, "", 0):
        for index, row in enumerate(meta):
            if row.id == int(meta_id):
                if value is None:
                    del meta[index]
                else:
                    row.key, row.value = key, stored_value(value)
                return
    matches = [row for row in meta if row.key == key]
    if matches:
        first = matches[0]
        for other in matches[1:]:
            meta.remove(other)
        if value is None:
            meta.remove(first)
        else:
            first.value = stored_value(value)
        return
    if value is not None:
        meta.append(Meta(new_id(), key, stored_value(value)))


def add_meta(meta: list[Meta], key: str, value, new_id: Callable[[], int]) -> Meta:
    row = Meta(new_id(), key, stored_value(value))
    meta.append(row)
    return row


def delete_meta(meta: list[Meta], key: str) -> None:
    meta[:] = [row for row in meta if row.key != key]


@dataclass
class Event:
    """A WooCommerce action a webhook topic listens to: resource (order/product), event, id."""
    resource: str
    event: str
    id: int


@dataclass
class Site:
    home_url: str  # home_url(), no trailing slash
    name: str = "Oak & Linen"
    timezone: str = "UTC"
    locale: str = "en_US"
    currency: str = "USD"
    currency_symbol: str = "$"
    wc_version: str = "9.8.5"
    wp_version: str = "6.8.1"
    admin_user_id: int = 1
    admin_login: str = "admin"
    admin_password: str = "password"
    salt: str = "devstore-salt"


class Memory:
    """Everything the store holds besides the REST and webhook machinery."""

    def __init__(self, site: Site, now: Callable[[], datetime]):
        self.site = site
        self._now = now
        self._posts = itertools.count(10)
        self._items = itertools.count(1)
        self._post_meta = itertools.count(100)
        self._item_meta = itertools.count(1)
        self._comments = itertools.count(1)
        self.products: dict[int, Any] = {}
        self.orders: dict[int, Any] = {}
        self.refunds: dict[int, Any] = {}
        self.events: list[Event] = []
        self.version = 0  # bumped on every change; list-query caches key on it
        self.emails: list[dict] = []

    # -- ids and time ---------------------------------------------------------------------------
    def post_id(self) -> int:
        return next(self._posts)

    def item_id(self) -> int:
        return next(self._items)

    def post_meta_id(self) -> int:
        return next(self._post_meta)

    def item_meta_id(self) -> int:
        return next(self._item_meta)

    def comment_id(self) -> int:
        return next(self._comments)

    def now(self) -> datetime:
        moment = self._now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).replace(microsecond=0)

    def local(self, moment: datetime | None) -> str | None:
        """wc_rest_prepare_date_response(date, false): the site's local time, no offset."""
        if moment is None:
            return None
        return moment.astimezone(ZoneInfo(self.site.timezone)).strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def gmt(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    # -- change tracking ------------------------------------------------------------------------
    def emit(self, resource: str, event: str, object_id: int) -> None:
        self.events.append(Event(resource, event, object_id))

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def changed(self) -> None:
        self.version += 1
