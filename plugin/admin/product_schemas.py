"""Request and response models of the Products page's API (their JSON Schemas go into the OpenAPI document)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugin.admin.forms import custom_error

MAX_LEAD_DAYS = 365


class ProductQuery(BaseModel):
    """Search and page of the variant list (SKU order)."""

    model_config = ConfigDict(extra="ignore")

    q: str | None = Field(None, max_length=200, description="SKU (prefix, any case) or words of the product or "
                                                            "variant title.")
    backordered: bool | None = Field(None, description="Only variants with lines waiting for stock.")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=200)

    @field_validator("q")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class ProductSupplier(BaseModel):
    id: int
    name: str
    role: Literal["primary", "substitute", "supply"] = Field(
        description="primary/substitute: from the supplier's SKU list; supply: it has supply on the way.")
    lead_time_days: int | None


class ProductRow(BaseModel):
    id: int
    sku: str | None
    title: str
    sellable: int = Field(description="The store's available quantity (negative: sold beyond stock).")
    tracked: bool
    continue_selling: bool
    incoming_units: int = Field(description="Units of the SKU's open supply lines (ordered or shipped).")
    incoming_lots: int
    incoming_next_date: date | None = Field(description="The soonest expected date among them.")
    backordered_units: int = Field(description="Units of this variant's lines waiting for stock (open, ready).")
    backordered_lines: int
    lines_eta_first: date | None = Field(description="The soonest current ETA among the waiting lines.")
    lines_eta_last: date | None
    eta_promise: date | None = Field(description="What one more unit ordered now would be promised.")
    eta_earliest: date | None
    eta_likely: date | None
    eta_latest: date | None
    eta_covered_by: str | None
    supplier: ProductSupplier | None
    manual_eta: date | None = Field(description="The merchant's ship date for the variant's lines not covered "
                                                "by stock (until the day has passed).")
    manual_eta_passed: bool
    manual_lead_time_days: int | None = Field(description="The merchant's lead time for lines nothing is on order "
                                                          "for: they ship this many days from today.")


class ProductPage(BaseModel):
    rows: list[ProductRow]
    total: int
    page: int
    per_page: int
    pages: int


class ManualEtaIn(BaseModel):
    """Set the variant's manual ETA and/or lead time; null (or absent) clears each."""

    model_config = ConfigDict(extra="forbid")

    manual_eta: date | None = None
    manual_lead_time_days: int | None = Field(None, ge=0, le=MAX_LEAD_DAYS)

    @field_validator("manual_eta")
    @classmethod
    def _not_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and value < date.today():
            raise custom_error("date_past", "the date has passed: choose today or a later day")
        return value


class ProductResult(BaseModel):
    ok: bool
    message: str
    product: ProductRow = Field(description="The variant as it is now.")
