"""Who a privacy request is about, and how we recognise them without keeping their address."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable


def normalize_email(email: str | None) -> str | None:
    email = (email or "").strip().casefold()
    return email or None


@dataclass(frozen=True)
class Customer:
    """The customer a request names: their address, platform customer id and order ids."""

    email: str | None  # normalised (normalize_email)
    platform_customer_id: str | None = None
    order_ids: frozenset[str] = frozenset()  # platform order ids

    def with_orders(self, order_ids: Iterable[str]) -> "Customer":
        return replace(self, order_ids=self.order_ids | frozenset(str(i) for i in order_ids))

    @property
    def identified(self) -> bool:
        return bool(self.email or self.platform_customer_id or self.order_ids)


def customer_ref(secret: str, customer: Customer) -> str | None:
    """A keyed digest (HMAC-SHA256 with the app's secret key) naming the customer across requests.

    Keyed, because a plain hash of an email address is reversed by hashing candidate addresses.
    The address is preferred; a request without one falls back to the platform's customer id.
    """
    if customer.email:
        subject = "email:" + customer.email
    elif customer.platform_customer_id:
        subject = "customer:" + customer.platform_customer_id
    else:
        return None
    return hmac.new(secret.encode("utf-8"), subject.encode("utf-8"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=64)
def _email_pattern(email: str) -> re.Pattern[str]:
    # Whole addresses only: bob@example.com must not match jimbob@example.com or bob@example.com.au.
    return re.compile(r"(?<![\w.%+-])" + re.escape(email) + r"(?![\w-])(?!\.\w)", re.IGNORECASE)


def mentions_email(text: str | None, email: str | None) -> bool:
    return bool(text and email and _email_pattern(email).search(text))


def without_email(text: str, email: str) -> str:
    return _email_pattern(email).sub("[redacted]", text)
