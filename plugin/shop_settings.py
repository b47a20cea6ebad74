"""Per-shop settings the merchant can change, with their defaults."""
from __future__ import annotations

DEFAULT_SHOP_SETTINGS: dict[str, object] = {
    # Tag written on orders that have at least one backordered line.
    "order_tag": "backorder",
    # Until supplier ETAs are known (supplier feeds), a backorder ships this many days after the order.
    "default_lead_time_days": 14,
    # The promise told to customers is this quantile of the ETA distribution (P80 by default).
    "promise_quantile": 0.8,
    # A promise that moves later by more than this many days is a delay worth telling the customer.
    "delay_grace_days": 2,
    # A line whose ETA has run this many days past its original promise gets a refund offer.
    "refund_threshold_days": 14,
}
