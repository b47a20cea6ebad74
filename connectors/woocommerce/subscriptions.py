"""The app's webhooks in a WooCommerce store: created on connect, repaired by reconciliation.

WooCommerce delivers each event once, never retries, and after repeated failed deliveries sets
the webhook to `disabled` (woocommerce_max_webhook_delivery_failures, 5 by default); from then on
nothing arrives. `ensure_subscriptions` makes the store hold exactly one active webhook per topic
of manifest.json pointing at APP_URL/webhooks/woocommerce: missing ones are created, disabled or
paused ones re-enabled, duplicates (a create retried after a timeout) and topics we no longer
want deleted, all in one batch request. The orders missed meanwhile are found by the
reconciliation that calls it (orders modified since its last run).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from connectors.woocommerce.client import WooClient
from connectors.woocommerce.manifest import app_name, webhook_topics

log = logging.getLogger(__name__)


@dataclass
class SubscriptionReport:
    created: list[str] = field(default_factory=list)
    reenabled: list[str] = field(default_factory=list)
    secret_updated: list[str] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.reenabled or self.secret_updated or self.deleted)

    def as_dict(self) -> dict:
        return {"created": self.created, "reenabled": self.reenabled, "secret_updated": self.secret_updated,
                "deleted": self.deleted}


def delivery_url(runtime) -> str:
    return f"{runtime.settings.public_url}/webhooks/woocommerce"


def _same_url(a: str | None, b: str) -> bool:
    return (a or "").strip().rstrip("/").lower() == b.rstrip("/").lower()


def our_webhooks(client: WooClient, url: str) -> list[dict]:
    return [hook for hook in client.paginate("webhooks", {"status": "all"}) if _same_url(hook.get("delivery_url"), url)]


def ensure_subscriptions(client: WooClient, url: str, secret: str, *, set_secret: bool = False) -> SubscriptionReport:
    """One active webhook per wanted topic, signed with `secret` (set on existing ones too when
    `set_secret`: on connect, since WooCommerce never shows a webhook's secret back reliably)."""
    report = SubscriptionReport()
    wanted = webhook_topics()
    by_topic: dict[str, list[dict]] = {}
    for hook in our_webhooks(client, url):
        by_topic.setdefault(hook.get("topic") or "", []).append(hook)
    create, update, delete = [], [], []
    for topic in wanted:
        hooks = sorted(by_topic.pop(topic, []), key=lambda h: (h.get("status") != "active", int(h.get("id") or 0)))
        if not hooks:
            create.append({"name": f"{app_name()}: {topic}", "topic": topic, "delivery_url": url, "secret": secret,
                           "status": "active"})
            report.created.append(topic)
            continue
        keep, extra = hooks[0], hooks[1:]
        delete.extend(int(h["id"]) for h in extra)
        changes: dict = {}
        if keep.get("status") != "active":
            changes["status"] = "active"
            report.reenabled.append(topic)
        if set_secret:
            changes["secret"] = secret
            report.secret_updated.append(topic)
        if changes:
            update.append({"id": int(keep["id"]), **changes})
    for hooks in by_topic.values():  # topics an older version subscribed to
        delete.extend(int(h["id"]) for h in hooks)
    report.deleted = delete
    if create or update or delete:
        client.batch("webhooks", create=create, update=update, delete=delete)
        log.info("woocommerce webhooks repaired", extra={"store": client.store_url, "webhooks": report.as_dict()})
    return report


def delete_subscriptions(client: WooClient, url: str) -> list[int]:
    """Delete every webhook of ours in the store (disconnect). Returns their ids."""
    ids = [int(hook["id"]) for hook in our_webhooks(client, url)]
    if ids:
        client.batch("webhooks", delete=ids)
    return ids
