"""Order payloads validated with pydantic, normalised to what the backorder service needs.

Shopify sends many more fields; we read only these, and a payload missing them is a clear error
instead of a KeyError deep inside a transaction.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ShopifyCustomer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class ShopifyLineItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    variant_id: int | None = None
    product_id: int | None = None
    sku: str | None = None
    name: str | None = None
    title: str | None = None
    quantity: int = Field(ge=0)
    current_quantity: int | None = Field(default=None, ge=0)
    fulfillable_quantity: int | None = Field(default=None, ge=0)
    fulfillment_status: str | None = None
    # One unit's price in the shop's currency (Shopify sends it as a string, "499.00"). Only the
    # admin's figures use it, so a value that is not a price is dropped rather than failing the order.
    price: Decimal | None = None

    @field_validator("price", mode="before")
    @classmethod
    def _price_or_none(cls, value):
        try:
            price = Decimal(str(value)) if value is not None and value != "" else None
        except ArithmeticError:
            return None
        return price if price is not None and price.is_finite() and price >= 0 else None

    @property
    def open_quantity(self) -> int:
        """Units still to ship: fulfilled, removed or refunded units are no longer owed."""
        if self.fulfillable_quantity is not None:
            return self.fulfillable_quantity
        if self.fulfillment_status == "fulfilled":
            return 0
        return self.current_quantity if self.current_quantity is not None else self.quantity


class ShopifyOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str | None = None
    email: str | None = None
    contact_email: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None
    customer_locale: str | None = None
    currency: str | None = None  # ISO 4217 code of the shop's money (line prices)
    customer: ShopifyCustomer | None = None
    line_items: list[ShopifyLineItem] = Field(default_factory=list)

    @field_validator("created_at", "updated_at", "cancelled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp without a UTC offset")
        return value

    @property
    def customer_name(self) -> str | None:
        if not self.customer:
            return None
        name = " ".join(p for p in (self.customer.first_name, self.customer.last_name) if p)
        return name or None


class PayloadError(ValueError):
    """The payload is not an order we can read; retrying will not change that."""

    retryable = False


def parse_shopify_order(payload: dict) -> ShopifyOrder:
    try:
        return ShopifyOrder.model_validate(payload)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise PayloadError(f"order payload invalid: {where}") from None
