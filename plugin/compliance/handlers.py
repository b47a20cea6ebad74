"""Inbox handlers for Shopify's compliance topics: read the payload, hand it to the services.

The payloads (customers/data_request, customers/redact, shop/redact) are validated with pydantic
against the fields Shopify documents. Shopify signs the body, not the headers, so the shop the
body names must be the shop the delivery came for: a signed body replayed under another shop's
domain header must not erase that other shop.
"""
from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.compliance import services
from plugin.compliance.identity import Customer, normalize_email

log = logging.getLogger(__name__)


class CompliancePayloadError(ValueError):
    """A payload we cannot act on; retrying will not change it."""

    retryable = False


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PayloadCustomer(_Model):
    id: int | None = None
    email: str | None = None
    phone: str | None = None


class DataRequestId(_Model):
    id: int | str


class ShopPayload(_Model):
    shop_id: int | None = None
    shop_domain: str | None = None
    # Set on an inbox body this package already redacted: the request ran to completion.
    redacted: bool = False


class CustomersDataRequest(ShopPayload):
    customer: PayloadCustomer | None = None
    orders_requested: list[int | str] = Field(default_factory=list)
    data_request: DataRequestId | None = None


class CustomersRedact(ShopPayload):
    customer: PayloadCustomer | None = None
    orders_to_redact: list[int | str] = Field(default_factory=list)


def _parse(model: type[ShopPayload], event) -> ShopPayload:
    try:
        payload = model.model_validate(event.payload)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise CompliancePayloadError(f"{event.topic} payload invalid: {where}") from None
    body_domain = (payload.shop_domain or "").strip().lower()
    if body_domain != (event.shop_domain or "").strip().lower():
        raise CompliancePayloadError(f"{event.topic} names shop {body_domain!r}, delivered for {event.shop_domain!r}")
    return payload


def _customer(person: PayloadCustomer | None, order_ids) -> Customer:
    return Customer(
        email=normalize_email(person.email if person else None),
        platform_customer_id=str(person.id) if person and person.id is not None else None,
        order_ids=frozenset(str(i) for i in order_ids),
    )


def on_customers_data_request(runtime, event) -> None:
    request = _parse(CustomersDataRequest, event)
    if request.redacted:
        log.info("data request already handled and since redacted", extra={"event_id": event.id})
        return
    if request.data_request is None:
        raise CompliancePayloadError("customers/data_request without data_request.id")
    customer = _customer(request.customer, request.orders_requested)
    if not customer.identified:
        raise CompliancePayloadError("customers/data_request names no customer and no orders")
    services.export_customer_data(
        runtime, event.shop_id, customer, request_key=str(request.data_request.id), received_at=event.received_at,
        request={"data_request_id": request.data_request.id,
                 "customer_id": customer.platform_customer_id,
                 "orders_requested": [str(i) for i in request.orders_requested]})


def on_customers_redact(runtime, event) -> None:
    request = _parse(CustomersRedact, event)
    if request.redacted:
        log.info("customer redaction already done", extra={"event_id": event.id})
        return
    customer = _customer(request.customer, request.orders_to_redact)
    if not customer.identified:
        raise CompliancePayloadError("customers/redact names no customer and no orders")
    services.redact_customer(runtime, event.shop_id, customer, event_id=event.id, received_at=event.received_at)


def on_shop_redact(runtime, event) -> None:
    _parse(ShopPayload, event)
    outcome = services.erase_shop(runtime, event.shop_id, event_id=event.id)
    if not outcome.erased:
        log.info("shop/redact erased nothing", extra={"event_id": event.id, "reason": outcome.reason})
