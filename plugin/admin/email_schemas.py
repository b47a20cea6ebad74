"""Models of the Emails page's API: the log, the kinds (on/off and the merchant's own texts), previews."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugin.admin.forms import custom_error
from plugin.notifications.catalog import placeholders
from plugin.notifications.kinds import ALL_KINDS

EmailKind = Literal["confirmation", "delay", "refund_offer", "refund_confirmation", "ready", "shipped", "digest"]
EmailStatus = Literal["pending", "sending", "sent", "failed", "dead", "skipped"]
EMAIL_STATUSES: tuple[str, ...] = EmailStatus.__args__  # type: ignore[attr-defined]
# What subjects and intros may say as {name} (plugin/notifications/render.py: subject_values).
PLACEHOLDERS = ("shop_name", "order_name", "customer_name", "item", "old_date", "new_date", "date")
assert set(EmailKind.__args__) == set(ALL_KINDS)  # type: ignore[attr-defined]


class EmailLogQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: EmailKind | None = None
    status: EmailStatus | None = None
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=200)


class EmailLogRow(BaseModel):
    id: int
    kind: str
    recipient: str | None = Field(description="Partly masked (jo•••@example.com).")
    locale: str | None
    subject: str | None
    status: str
    reason: str | None = Field(description="Why it was skipped, or the last delivery error.")
    attempts: int
    order_name: str | None
    created_at: datetime
    sent_at: datetime | None


class EmailLogPage(BaseModel):
    rows: list[EmailLogRow]
    total: int
    page: int
    per_page: int
    pages: int


class EmailText(BaseModel):
    subject: str | None = None
    intro: str | None = None


class EmailKindOut(BaseModel):
    kind: str
    audience: Literal["customer", "merchant"]
    enabled: bool
    texts: dict[str, EmailText] = Field(description="The merchant's own subject and intro per language (unset: the "
                                                    "built-in text).")
    defaults: dict[str, EmailText] = Field(description="The built-in subject and intro per language.")


class EmailKindsOut(BaseModel):
    kinds: list[EmailKindOut]
    placeholders: list[str]


class EmailKindsIn(BaseModel):
    """{kind: true|false} for the kinds to switch; others are left as they are."""

    model_config = ConfigDict(extra="forbid")

    kinds: dict[EmailKind, bool]


def _check_placeholders(value: str | None) -> str | None:
    if value:
        unknown = placeholders(value) - set(PLACEHOLDERS)
        if unknown:
            raise custom_error("placeholder_unknown", "unknown placeholder {name}",
                               name="{" + sorted(unknown)[0] + "}", allowed=", ".join("{" + p + "}" for p in PLACEHOLDERS))
    return value


class EmailTextIn(BaseModel):
    """The merchant's subject and intro of one kind in one language; empty or null: the built-in text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: str | None = Field(None, max_length=200)
    intro: str | None = Field(None, max_length=2000)

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        if value and any(ch in value for ch in "\r\n"):
            raise custom_error("one_line", "must be one line")
        return _check_placeholders(value or None)

    @field_validator("intro")
    @classmethod
    def _intro(cls, value: str | None) -> str | None:
        return _check_placeholders(value or None)


class EmailPreviewOut(BaseModel):
    kind: str
    locale: str
    subject: str
    text: str
    html: str = Field(description="The full HTML document (show it sandboxed, e.g. <iframe sandbox srcdoc>).")


class EmailResult(BaseModel):
    ok: bool
    message: str
    kind: EmailKindOut
