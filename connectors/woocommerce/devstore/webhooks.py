"""Webhooks as WooCommerce keeps and delivers them (WC_Webhook, its data store, Action Scheduler).

Creating one through the REST API always makes it active, whatever `status` says, and pings
its URL once: a POST whose body is `webhook_id=<id>` (form-encoded, no X-WC-* headers, no
signature). A ping answered with anything but 200 leaves the webhook "pending delivery", and
every later save of an active webhook (each delivery result is a save) pings again; so does a
change of delivery_url.

An event (order created/updated/trashed, product created/updated/trashed, a refund) schedules
one delivery per matching active webhook and resource, unless one is already waiting for the
same webhook and resource; the payload is built when the delivery runs, so it is the resource's
state at that moment, exactly what GET /wc/v3/<resource>s/<id> answers (a variation's
product.updated carries the variation, type "variation"). Trashing fires X.deleted with
`{"id": N}`; deleting for good fires nothing.

Delivery: POST, JSON as wp_json_encode writes it, headers X-WC-Webhook-Source (home URL with
a trailing slash), -Topic, -Resource, -Event, -Signature (base64 HMAC-SHA256 of the raw body
keyed by the secret), -ID, -Delivery-ID (wp_hash of webhook id + the second: two deliveries of
one webhook in the same second share it), User-Agent "WooCommerce/<v> Hookshot (WordPress/<v>)".
No retries. A 2xx, 300, 301 or 302 answer resets the failure count; anything else (and an
unreachable or refused URL) is a failure: the count goes up to 5 and the next failure after
that (the 7th in a row) sets the status to "disabled" (`failure_count > 5`, the
woocommerce_max_webhook_delivery_failures default). Paused and disabled webhooks send nothing.
Before sending, wp_safe_remote_request refuses URLs with a user:password, private or loopback
IP literals (127/8, 10/8, 172.16/12, 192.168/16, 0/8, and localhost) and ports other than 80,
443 and 8080 (the site's own host excepted) — `allow_local_urls=True` lifts that, like the
http_request_host_is_external and http_allowed_safe_ports filters.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

TOPIC_HOOKS = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product", "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}
STATUSES = ("active", "paused", "disabled")
SUCCESS = range(200, 303)  # "a 2xx, 301 or 302 response code" (and 300: the code checks < 303)
SAFE_PORTS = (80, 443, 8080)
SECRET_ALPHABET = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"


def valid_topic(topic: str) -> bool:
    return topic.startswith("action.") and len(topic) > 7 or topic in TOPIC_HOOKS


def hooks_for(topic: str) -> list[str]:
    if topic.startswith("action."):
        return [topic[7:]]
    return list(TOPIC_HOOKS.get(topic, []))


def specialchars_decode(text: str) -> str:
    """wp_specialchars_decode(secret, ENT_QUOTES): the secret WooCommerce actually keys HMAC with."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#039;", "'"), ("&#39;", "'"), ("&#x27;", "'"),
                         ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def sign(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature."""
    key = specialchars_decode(secret).encode("utf-8")
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def generate_secret() -> str:
    """wp_generate_password(50, true, true)."""
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(50))


def safe_url(url: str, home_url: str) -> bool:
    """wp_http_validate_url(), without DNS: hostnames other than localhost count as external."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.strip(".").lower()
    home = urlsplit(home_url)
    same_host = (home.hostname or "").lower() == host
    if not same_host:
        if host == "localhost" or host.endswith(".localhost"):
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            if address.version == 6:
                return False  # a '[' in the host: strpbrk(host, ':#?[]') refuses it
            first, second = address.packed[0], address.packed[1]
            if first in (127, 10, 0) or (first == 172 and 16 <= second <= 31) or (first == 192 and second == 168):
                return False
    if port is None or port in SAFE_PORTS:
        return True
    return same_host and home.port == port


@dataclass
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    user_id: int
    date_created: datetime
    date_modified: datetime | None = None
    api_version: str = "wp_api_v3"
    failure_count: int = 0
    pending_delivery: bool = True

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0] if self.topic else ""

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1] if "." in self.topic else ""

    @property
    def hooks(self) -> list[str]:
        return hooks_for(self.topic)


@dataclass
class Delivery:
    """One HTTP POST the store made: a webhook delivery, a ping, or the /wc-auth key callback."""
    index: int
    kind: str  # "webhook" | "ping" | "auth_callback"
    url: str
    headers: dict[str, str]
    body: bytes
    webhook_id: int | None = None
    topic: str | None = None
    resource_id: int | None = None
    delivery_id: str | None = None
    status: int | None = None  # the answer's status code; None when there was no answer
    error: str | None = None  # WP_Error message when the request failed or was refused
    payload: dict | None = None
    sent_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS

    def __getitem__(self, key: str):
        return getattr(self, key)


def delivery_headers(webhook: Webhook, body: bytes, *, source: str, delivery_id: str, user_agent: str) -> dict[str, str]:
    return {
        "User-Agent": user_agent,
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": webhook.topic,
        "X-WC-Webhook-Resource": webhook.resource,
        "X-WC-Webhook-Event": webhook.event,
        "X-WC-Webhook-Signature": sign(webhook.secret, body),
        "X-WC-Webhook-ID": str(webhook.id),
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def ping_headers(user_agent: str) -> dict[str, str]:
    # wp_safe_remote_post with a string body: cURL's default form content type, no X-WC-* headers.
    return {"User-Agent": user_agent, "Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Queue:
    """Action Scheduler's woocommerce_deliver_webhook_async actions: one per (webhook, resource)."""
    pending: list[tuple[int, int]] = field(default_factory=list)

    def add(self, webhook_id: int, resource_id: int) -> bool:
        if (webhook_id, resource_id) in self.pending:
            return False
        self.pending.append((webhook_id, resource_id))
        return True

    def pop(self) -> tuple[int, int] | None:
        return self.pending.pop(0) if self.pending else None
