"""The one protocol every platform connector implements; services only ever talk to this.

A third platform is a new folder under connectors/ implementing `Connector`, registered in
connectors/registry.py; nothing in plugin/ or webhooks/ changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Iterator, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    from plugin.backorders.payloads import ShopifyOrder


@dataclass(frozen=True)
class WebhookEnvelope:
    """What the receiving endpoint needs from a delivery, read from the platform's headers."""

    topic: str  # normalised to "orders/create" style on every platform
    shop_domain: str
    dedupe_key: str | None


@dataclass(frozen=True)
class VariantStock:
    """A variant as the platform sees it at this moment."""

    platform_variant_id: str
    platform_product_id: str | None
    sku: str | None
    title: str | None
    tracked: bool
    continue_selling: bool
    # Sellable ("available") quantity per location id; may be negative when oversold.
    by_location: Mapping[str, int] = field(default_factory=dict)
    # The product's name and URL handle; only catalogue reads fill them (None: not read).
    product_title: str | None = None
    product_handle: str | None = None

    @property
    def sellable(self) -> int:
        return sum(self.by_location.values())


@dataclass(frozen=True)
class LineEta:
    platform_line_id: str
    sku: str | None
    quantity: int
    eta: date


@dataclass(frozen=True)
class IncomingLine:
    """One item of an incoming shipment, in units."""

    sku: str | None
    inventory_item_id: str
    quantity: int    # shipped
    unreceived: int  # still on its way
    accepted: int    # received into stock
    rejected: int    # received but refused (damaged, wrong item)


INCOMING_STATUSES = ("in_transit", "partially_received", "received", "withdrawn", "unknown")


@dataclass(frozen=True)
class IncomingShipment:
    """Stock on its way to the store as the platform itself tracks it (Shopify: inventory shipments).

    status: in_transit | partially_received | received | withdrawn (no longer exists, or back to
    draft) | unknown (a state this code does not know: leave its lines alone).
    """

    platform_shipment_id: str
    name: str
    status: str
    arrives_at: date | None
    shipped_at: date | None
    received_at: date | None
    tracking: str | None
    lines: tuple[IncomingLine, ...] = ()


class CatalogRead(Protocol):
    """What `Connector.read_catalog` returns: the shop's variants, streamed, and how they were read."""

    bulk: bool  # True when the platform's bulk export was used instead of paging
    # Known once iteration has begun: no reading in it is older than this (store it as the
    # variants' inventory_read_at, so a newer reading is never overwritten by this one).
    read_at: datetime | None

    def __iter__(self) -> Iterator[VariantStock]: ...


class ConnectorError(RuntimeError):
    """The platform could not be reached or refused; `retryable` tells the worker whether to back off."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class Connector(Protocol):
    platform: str

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True only when the body's signature is valid for this app (constant-time compare)."""

    def webhook_envelope(self, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
        """Topic, shop and dedupe key of a verified delivery (WooCommerce keys it by the body's
        resource id and date_modified; Shopify by its headers alone).

        A connector may also define `is_ping(headers, body) -> bool`: a platform's unsigned test
        delivery (WooCommerce's webhook_id=N) that the endpoint answers 200 without storing it."""

    def read_inventory(self, shop, platform_variant_ids: Sequence[str]) -> list[VariantStock]:
        """Current sellable stock and selling policy of the given variants."""

    def read_catalog(self, shop, *, bulk: bool | None = None) -> CatalogRead:
        """Every variant of the shop (not only those orders touched), with its stock and selling
        policy. bulk=None lets the connector choose (a bulk export for a large catalogue, paging
        for a small one); True/False force one. Iterating may call the platform; call it outside
        any database transaction. A platform error raises ConnectorError before or while iterating."""

    def write_backorder_marks(self, shop, platform_order_id: str, tag: str, etas: Sequence[LineEta]) -> None:
        """Tag the order and store the per-line ETAs on it, idempotently."""

    def read_incoming_supply(self, shop, also_ids: Sequence[str] = ()) -> list[IncomingShipment]:
        """Shipments on their way (in transit or partly received), plus the current state of each
        shipment in `also_ids` (those the app still holds open), so a received or withdrawn one is
        seen too. A platform without such a feature returns []."""

    def read_orders_updated_since(self, shop, since: datetime) -> list[ShopifyOrder]:
        """Every order of the shop updated at or after `since` (timezone-aware), oldest update
        first, each complete with its line items and in the same model the order webhooks are
        parsed into, so a missed webhook can be processed exactly as if it had arrived."""

    def set_variant_etas(self, shop, items: Sequence[tuple[str, str]]) -> None:
        """Show each (platform variant id, ETA JSON) on the storefront; at most 25 per call."""

    def clear_variant_etas(self, shop, platform_variant_ids: Sequence[str]) -> None:
        """Stop showing an ETA for these variants (back in stock); at most 25 per call."""

    def refund_line(self, shop, platform_order_id: str, platform_line_id: str, quantity: int, *,
                    idempotency_key: str) -> str:
        """Refund `quantity` units of one order line to the customer's payment (restocking off; the
        shipping too when nothing else is left to ship on the order) and return the refund's id.
        Calling again with the same `idempotency_key` never refunds twice: it answers the first
        refund. Call it outside any database transaction; errors raise ConnectorError."""
