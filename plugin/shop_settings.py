"""Per-shop settings the merchant can change, with their defaults."""
from __future__ import annotations

DEFAULT_SHOP_SETTINGS: dict[str, object] = {
    # Tag written on orders that have at least one backordered line.
    "order_tag": "backorder",
    # Until supplier ETAs are known (supplier feeds), a backorder ships this many days after the order.
    "default_lead_time_days": 14,
}
