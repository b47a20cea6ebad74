"""Reading and writing a shop's settings (`Shop.settings`, defaults in plugin/shop_settings.py).

`update_settings` merges the changed names over what is stored, in one transaction holding the
shop row's lock (two merchants saving at once never lose each other's other settings). When a
setting the ETA engine reads changes (`ETA_SETTINGS`: the promise quantile, grace period,
refund threshold, default lead time), the same transaction marks the variants with waiting lines
eta_dirty and bumps their revision, so the next recompute (every 2 minutes) gives every waiting
line its date under the new rule, and a recompute already running discards its answer for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import select, update

from plugin.db.models import Backorder, Shop, Variant
from plugin.shop_settings import DEFAULT_EMAIL_KINDS, DEFAULT_SHOP_SETTINGS

ETA_SETTINGS = ("promise_quantile", "delay_grace_days", "refund_threshold_days", "default_lead_time_days")
WAITING = ("open", "ready")


@dataclass
class SettingsChange:
    changed: list[str]           # names whose value changed
    values: dict[str, Any]       # every setting as it is now (defaults filled in)
    variants_marked: int         # variants made eta_dirty because an ETA setting changed


def current_settings(shop: Shop) -> dict[str, Any]:
    stored = shop.settings if isinstance(shop.settings, dict) else {}
    values = {name: stored.get(name, default) for name, default in DEFAULT_SHOP_SETTINGS.items()}
    kinds = stored.get("email_kinds") if isinstance(stored.get("email_kinds"), dict) else {}
    values["email_kinds"] = {kind: bool(kinds.get(kind, on)) for kind, on in DEFAULT_EMAIL_KINDS.items()}
    texts = stored.get("email_texts")
    values["email_texts"] = texts if isinstance(texts, dict) else {}
    return values


def read_settings(runtime, shop_id: int) -> dict[str, Any]:
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        return current_settings(shop)


def update_settings(runtime, shop_id: int,
                    changes: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]) -> SettingsChange:
    """Store `changes` (setting name -> new value; names must be DEFAULT_SHOP_SETTINGS'). A
    callable gets the current settings under the lock and returns the changes (a read-modify-
    write of a map such as email_texts then never loses a concurrent save)."""
    with runtime.db.shop_session(shop_id) as session:
        shop = session.scalars(select(Shop).where(Shop.id == shop_id).with_for_update()).one_or_none()
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        before = current_settings(shop)
        if callable(changes):
            changes = changes(before)
        unknown = set(changes) - set(DEFAULT_SHOP_SETTINGS)
        if unknown:
            raise KeyError(f"unknown settings: {', '.join(sorted(unknown))}")
        stored = dict(shop.settings or {})
        changed = [name for name, value in changes.items() if before.get(name) != value]
        for name in changed:
            stored[name] = changes[name]
        marked = 0
        if changed:
            shop.settings = stored  # a new dict: the JSON column sees the change
            if any(name in ETA_SETTINGS for name in changed):
                marked = mark_waiting_variants_dirty(session, shop_id)
        session.flush()
        return SettingsChange(changed, current_settings(shop), marked)


def mark_waiting_variants_dirty(session, shop_id: int) -> int:
    """eta_dirty (and a revision bump) on every variant of the shop with a line waiting for stock."""
    waiting = select(Backorder.variant_id).where(Backorder.shop_id == shop_id, Backorder.status.in_(WAITING),
                                                 Backorder.variant_id.is_not(None))
    result = session.execute(update(Variant).where(Variant.shop_id == shop_id, Variant.id.in_(waiting))
                             .values(eta_dirty=True, eta_revision=Variant.eta_revision + 1)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
