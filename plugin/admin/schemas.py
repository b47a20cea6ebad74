"""Request and response models of the admin API (pydantic; their JSON Schemas go into the OpenAPI document)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugin.db.models import BACKORDER_STATUSES

BackorderStatus = Literal["open", "ready", "shipped", "cancelled", "refunded"]
SortKey = Literal["promised", "-promised", "ordered", "-ordered", "eta", "-eta", "-quantity"]
SORT_KEYS: tuple[str, ...] = SortKey.__args__  # type: ignore[attr-defined]
assert set(BackorderStatus.__args__) == set(BACKORDER_STATUSES)  # type: ignore[attr-defined]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_session_token.")
    message: str
    details: list[dict] | None = None


class ErrorBody(BaseModel):
    """Every error answer: 401 (no, forged or expired session), 403, 404, 409, 422."""

    error: ErrorDetail


# -- backorders --------------------------------------------------------------------------------
class BackorderQuery(BaseModel):
    """Filters, sort and page of the backorder list. Without `status`: lines still waiting (open, ready)."""

    model_config = ConfigDict(extra="ignore")

    status: list[BackorderStatus] | None = Field(
        None, description="One or more statuses (repeat the parameter or separate with commas).")
    product: str | None = Field(None, max_length=200,
                                description="SKU (prefix, any case) or words of the product or variant title.")
    supplier_id: int | None = Field(None, ge=1)
    promised_from: date | None = Field(None, description="Promised on or after this day.")
    promised_to: date | None = Field(None, description="Promised on or before this day.")
    delayed: bool | None = Field(None, description="Only lines whose ETA is now later than promised, or whose "
                                                    "promised day has passed while they still wait.")
    sort: SortKey = "promised"
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=200)

    @field_validator("product")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    @model_validator(mode="after")
    def _range(self) -> "BackorderQuery":
        if self.promised_from and self.promised_to and self.promised_from > self.promised_to:
            raise ValueError("promised_from is after promised_to")
        return self


class EtaOverrideInfo(BaseModel):
    eta: date
    reason: str | None
    at: datetime | None


class BackorderRow(BaseModel):
    id: int
    order_id: int
    order_name: str
    customer_name: str | None
    item: str
    sku: str | None
    quantity: int
    status: BackorderStatus
    promised_eta: date | None = Field(description="The date last told to the customer.")
    current_eta: date | None = Field(description="Today's promise (the engine's, or the override).")
    eta_earliest: date | None
    eta_likely: date | None
    eta_latest: date | None
    covered_by: str | None
    supplier_id: int | None
    supplier_name: str | None
    ordered_at: datetime
    shipped_at: datetime | None
    delayed: bool
    override: EtaOverrideInfo | None
    unit_price: Decimal | None
    currency: str | None


class BackorderPage(BaseModel):
    rows: list[BackorderRow]
    total: int = Field(description="Lines matching the filters, over all pages.")
    page: int
    per_page: int
    pages: int


class EtaOverrideIn(BaseModel):
    """Set the line's ship date by hand (`eta` and a `reason`), or remove the override (`eta`: null)."""

    eta: date | None
    reason: str | None = Field(None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    @model_validator(mode="after")
    def _reason_with_date(self) -> "EtaOverrideIn":
        if self.eta is not None and not self.reason:
            raise ValueError("a reason is required with a new date")
        return self


class ActionResult(BaseModel):
    """What an action did: a message in the merchant's language and the line as it is now."""

    ok: bool
    message: str
    row: BackorderRow
    outcome: str | None = Field(None, description="Action-specific: the refund's status (refunded, refunding, "
                                                  "failed), the resent email's status (pending, skipped).")


# -- overview ----------------------------------------------------------------------------------
class ChartPoint(BaseModel):
    label: str
    start: date | None = None
    value: float
    lines: int | None = None
    units: int | None = None
    kept: int | None = Field(None, description="Promises kept: of `lines` shipped, how many on time.")


class OverviewFigures(BaseModel):
    open_lines: int
    open_units: int
    value_waiting: Decimal | None = Field(description="Sum of unit price × units of waiting lines that have a price.")
    currency: str | None
    lines_without_price: int
    oldest_ordered_at: datetime | None
    oldest_age_days: int | None
    promises_kept_share: float | None = Field(description="0..1; None when no promised line shipped in the window.")
    promises_kept: int
    promises_shipped: int
    delayed_lines: int


class OverviewOut(BaseModel):
    figures: OverviewFigures
    by_promised_week: list[ChartPoint]
    ageing: list[ChartPoint]
    kept_over_time: list[ChartPoint]
    computed_at: datetime
