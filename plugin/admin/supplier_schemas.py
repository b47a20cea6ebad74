"""Request and response models of the Suppliers page's API (their JSON Schemas go into the OpenAPI document).

`SupplierIn` is what the page's form and the API send to create or edit a supplier. It checks
what plugin/suppliers/services.py's SupplierInput checks (so the merchant sees each problem next
to its field, in their language) plus what only the admin sets: the cron schedule, whether the
supplier is active, and the SKU lists.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from plugin.admin.forms import custom_error
from plugin.suppliers.feeds import MAX_TEXT
from plugin.suppliers.fetch import check_feed_url, parse_auth_header

FeedKind = Literal["url", "upload", "manual"]
MAX_SKUS = 5000
MAX_UPLOAD_CHARS = 5 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def split_skus(text: str | list | None) -> list[str]:
    """SKUs typed one per line (or separated by commas), or a list; blanks and repeats dropped."""
    if text is None:
        return []
    items = text if isinstance(text, list) else re.split(r"[\n,;]+", text)
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


class SupplierIn(BaseModel):
    """A supplier as the merchant enters it. `feed_auth_header`: None keeps the stored one (it is
    never shown again), "" with `clear_auth_header` removes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_TEXT)
    email: str | None = Field(None, max_length=320)
    lead_time_days: int = Field(14, ge=0, le=365, description="Days from a purchase order to the goods arriving.")
    lead_time_spread_days: int = Field(0, ge=0, le=365, description="How many days late they may be (P90), used "
                                                                    "until there is delivery history.")
    handling_days: int = Field(1, ge=0, le=60, description="Days from goods in to parcel out.")
    feed_kind: FeedKind = "manual"
    feed_url: str | None = Field(None, max_length=2000, validate_default=True)
    feed_format: Literal["csv", "json"] | None = None
    feed_auth_header: str | None = Field(None, max_length=2000)
    clear_auth_header: bool = False
    sync_interval_minutes: int = Field(360, ge=5, le=7 * 24 * 60)
    sync_cron: str | None = Field(None, max_length=100, description="A crontab line (UTC) instead of the interval.")
    active: bool = True
    primary_skus: list[str] = Field(default_factory=list, max_length=MAX_SKUS)
    substitute_skus: list[str] = Field(default_factory=list, max_length=MAX_SKUS)

    @field_validator("email", "feed_url", "feed_auth_header", "sync_cron", "feed_format", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise custom_error("email_invalid", "is not an email address")
        return value

    @field_validator("feed_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("feed_kind") == "url":
                raise custom_error("url_required", "a URL feed needs its address")
            return None
        try:
            return check_feed_url(value)
        except ValueError:
            raise custom_error("url_invalid", "must be a full http:// or https:// address") from None

    @field_validator("feed_auth_header")
    @classmethod
    def _auth(cls, value: str | None) -> str | None:
        try:
            parse_auth_header(value)
        except ValueError:
            raise custom_error("auth_header_invalid", "must look like 'Authorization: Bearer <token>'") from None
        return value

    @field_validator("sync_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError:
            raise custom_error("cron_invalid", "is not a crontab line such as '0 6 * * 1-5'") from None
        return " ".join(value.split())

    @field_validator("primary_skus", "substitute_skus", mode="before")
    @classmethod
    def _skus(cls, value):
        return split_skus(value)

    @field_validator("primary_skus", "substitute_skus")
    @classmethod
    def _sku_length(cls, value: list[str]) -> list[str]:
        for sku in value:
            if len(sku) > MAX_TEXT:
                raise custom_error("sku_too_long", "a SKU is longer than {max} characters", max=MAX_TEXT)
        return value


class UploadIn(BaseModel):
    """A CSV (or JSON) file's text, as the supplier sent it."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_UPLOAD_CHARS)
    filename: str | None = Field(None, max_length=255)


class RowErrorOut(BaseModel):
    line: int = Field(description="The line in the file (the CSV header is line 1).")
    reason: str


class SyncRunOut(BaseModel):
    id: int
    source: str
    status: Literal["running", "ok", "partial", "failed", "not_modified"]
    rows_total: int
    rows_applied: int
    rows_rejected: int
    rows_unchanged: int
    message: str | None
    errors: list[RowErrorOut] = Field(description="Each rejected row (the first 500).")
    started_at: datetime
    finished_at: datetime | None


class LatenessOut(BaseModel):
    p50_days: int | None = Field(description="Days late at the median (negative: early), from the fitted model.")
    p90_days: int | None
    receipts: int = Field(description="Received supply lines with a promised date (the history).")
    credibility: float = Field(description="How much of the figures is this supplier's own history (0..1); the "
                                           "rest is every supplier's.")
    on_time: int = Field(description="Of the receipts, how many came on or before the promised date.")
    on_time_rate: float | None


class SupplierRow(BaseModel):
    id: int
    name: str
    email: str | None
    active: bool
    feed_kind: str
    feed_url: str | None = Field(description="Without credentials or query string.")
    feed_format: str | None
    sync_interval_minutes: int
    sync_cron: str | None
    last_synced_at: datetime | None
    lead_time_days: int
    lead_time_spread_days: int
    handling_days: int
    sku_count: int
    open_supply_lines: int
    last_run: SyncRunOut | None
    lateness: LatenessOut


class SupplierList(BaseModel):
    suppliers: list[SupplierRow]
    as_of: date


class SupplierDetail(SupplierRow):
    feed_url_full: str | None = Field(description="The feed address as entered (may carry a token).")
    has_auth_header: bool
    primary_skus: list[str]
    substitute_skus: list[str]
    runs: list[SyncRunOut] = Field(description="The latest syncs, newest first.")
