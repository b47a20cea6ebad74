"""The Settings page's models: what the merchant may set, each checked with a reason per field.

`SettingsIn` is a partial update: a field left out (None) keeps its value; the page's form sends
every field. The rules are the shop's, not pydantic's defaults: an order tag Shopify accepts (at
most 40 characters, no commas), a refund threshold later than the grace period, a promise
quantile from P50 to P95, one-line sender names, addresses that look like addresses.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugin.admin.forms import custom_error
from plugin.notifications.kinds import ALL_KINDS

PROMISE_QUANTILES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def quantile_label(value: float) -> str:
    return f"P{round(float(value) * 100)}"


def _email(value: str | None) -> str | None:
    if value and not _EMAIL.match(value):
        raise custom_error("email_invalid", "is not an email address")
    return value


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_tag: str | None = Field(None, min_length=1, max_length=40,
                                  description="Tag written on orders with a backordered line.")
    delay_grace_days: int | None = Field(None, ge=0, le=60, description="A promise moving later by more than "
                                                                        "this many days is a delay the customer is told.")
    refund_threshold_days: int | None = Field(None, ge=1, le=365, description="A line this many days past its first "
                                                                             "promise gets a refund offer.")
    require_refund_approval: bool | None = Field(None, description="Refunds customers ask for wait for approval.")
    promise_quantile: float | None = Field(None, description="The promise told to customers: 0.5 (P50) to 0.95 (P95).")
    default_lead_time_days: int | None = Field(None, ge=0, le=365, description="Days until a backorder ships when "
                                                                               "no supplier says more.")
    email_kinds: dict[str, bool] | None = Field(None, description="Which emails are sent, by kind.")
    email_sender_name: str | None = Field(None, max_length=100, description="The From name ('' : the shop's name).")
    email_reply_to: str | None = Field(None, max_length=320, description="Reply-To address ('' : none).")
    merchant_email: str | None = Field(None, max_length=320, description="Where the daily digest goes ('' : nowhere).")
    merchant_locale: Literal["en", "pl"] | None = Field(None, description="The digest's language.")

    @field_validator("order_tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and ("," in value or any(ch in value for ch in "\r\n\t")):
            raise custom_error("tag_invalid", "a tag cannot hold commas or line breaks")
        return value

    @field_validator("promise_quantile", mode="before")
    @classmethod
    def _quantile_text(cls, value):
        if isinstance(value, str) and value.strip().upper().startswith("P"):
            value = value.strip()[1:]
            try:
                return float(value) / 100
            except ValueError:
                raise custom_error("quantile_invalid", "choose P50 to P95") from None
        return value

    @field_validator("promise_quantile")
    @classmethod
    def _quantile(cls, value: float | None) -> float | None:
        if value is None:
            return None
        for allowed in PROMISE_QUANTILES:
            if abs(value - allowed) < 1e-9:
                return allowed
        raise custom_error("quantile_invalid", "choose P50 to P95")

    @field_validator("email_kinds")
    @classmethod
    def _kinds(cls, value: dict[str, bool] | None) -> dict[str, bool] | None:
        if value is not None and set(value) - set(ALL_KINDS):
            raise custom_error("kind_unknown", "unknown email kind")
        return value

    @field_validator("email_sender_name")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and any(ch in value for ch in "\r\n<>\"@"):
            raise custom_error("sender_invalid", "a name only: no line breaks, quotes, <, > or @")
        return value

    @field_validator("email_reply_to", "merchant_email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return _email(value)


class SettingsOut(BaseModel):
    order_tag: str
    delay_grace_days: int
    refund_threshold_days: int
    require_refund_approval: bool
    promise_quantile: float
    default_lead_time_days: int
    email_kinds: dict[str, bool]
    email_sender_name: str | None
    email_reply_to: str | None
    merchant_email: str | None
    merchant_locale: str


class SettingsResult(BaseModel):
    ok: bool
    message: str
    changed: list[str]
    variants_marked: int = Field(description="Variants whose ETAs are recomputed because a setting they depend on "
                                             "changed.")
    settings: SettingsOut
