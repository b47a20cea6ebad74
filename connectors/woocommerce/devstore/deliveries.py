"""The store's outgoing HTTP: webhook deliveries and pings (see webhooks.py for the rules).

Every POST goes through `FakeWooCommerce.deliver(url, headers, body) -> status` when set (an
exception counts as the request failing, like a WP_Error), else over the network with httpx.
"""
from __future__ import annotations

import itertools
from datetime import datetime

import httpx

from .php import json_encode, wp_hash
from .webhooks import Delivery, Queue, Webhook, delivery_headers, generate_secret, ping_headers, safe_url

WEBHOOK_TIMEOUT = 60.0  # MINUTE_IN_SECONDS
PING_TIMEOUT = 5.0  # WP_Http's default


class WebhookService:
    def __init__(self, fake):
        self.fake = fake
        self.webhooks: dict[int, Webhook] = {}
        self.queue = Queue()
        self._ids = itertools.count(1)

    # -- CRUD (WC_Webhook + WC_Webhook_Data_Store) ------------------------------------------------
    def create(self, topic: str, delivery_url: str, *, name: str | None = None, secret: str | None = None,
               user_id: int = 1, status: str = "active", api_version: str = "wp_api_v3") -> Webhook:
        now = self.fake.memory.now()
        webhook = Webhook(next(self._ids), name or self.default_name(now), status, topic, delivery_url,
                          secret or generate_secret(), user_id, now, api_version=api_version)
        self.webhooks[webhook.id] = webhook
        return webhook

    def default_name(self, now: datetime) -> str:
        local = datetime.fromisoformat(self.fake.memory.local(now))
        return "Webhook created on " + local.strftime("%b %d, %Y @ %I:%M %p")

    def save(self, webhook: Webhook, *, url_changed: bool = False) -> bool:
        """The data store's update(): date_modified; True when it pings (active and new URL or
        pending delivery). The caller pings, outside the lock: the receiver may call back."""
        webhook.date_modified = self.fake.memory.now()
        return webhook.status == "active" and (url_changed or webhook.pending_delivery)

    # -- events -> queue -> deliveries ------------------------------------------------------------
    def schedule(self, events) -> int:
        added = 0
        for event in events:
            for webhook in list(self.webhooks.values()):
                if webhook.status != "active" or webhook.resource != event.resource or webhook.event != event.event:
                    continue
                if not self._valid_resource(event):
                    continue
                if self.queue.add(webhook.id, event.id):
                    added += 1
        return added

    def _valid_resource(self, event) -> bool:
        memory = self.fake.memory
        if event.resource == "order":
            order = memory.orders.get(event.id)
            return order is None or order.status not in ("checkout-draft", "auto-draft", "draft", "new")
        if event.resource == "product":
            product = memory.products.get(event.id)
            return product is None or product.status not in ("auto-draft", "new")
        return True

    def run(self, limit: int | None = None) -> list[Delivery]:
        """Run the queued woocommerce_deliver_webhook_async actions (Action Scheduler's runner)."""
        sent = []
        while limit is None or len(sent) < limit:
            with self.fake.lock:
                item = self.queue.pop()
                if item is None:
                    break
                webhook = self.webhooks.get(item[0])
                if webhook is None:
                    continue
                payload = self.payload(webhook, item[1])
            sent.append(self.deliver(webhook, item[1], payload))
        return sent

    def payload(self, webhook: Webhook, resource_id: int):
        if webhook.event == "deleted":
            return {"id": resource_id}
        return self.fake.endpoint_data(webhook.resource, resource_id)

    def deliver(self, webhook: Webhook, resource_id: int, payload) -> Delivery:
        """WC_Webhook::deliver(): sign, send, log, count failures."""
        memory = self.fake.memory
        body = json_encode(payload)
        with self.fake.lock:
            now = memory.now()
            delivery_id = wp_hash(f"{webhook.id}{int(now.timestamp())}", memory.site.salt)
            headers = delivery_headers(webhook, body, source=memory.site.home_url + "/", delivery_id=delivery_id,
                                       user_agent=self.fake.user_agent)
        delivery = self._post("webhook", webhook.delivery_url, headers, body, WEBHOOK_TIMEOUT, follow=False,
                              webhook=webhook, resource_id=resource_id, delivery_id=delivery_id, payload=payload)
        with self.fake.lock:
            if delivery.ok:
                webhook.failure_count = 0
            elif webhook.failure_count > self.fake.max_delivery_failures:
                webhook.status = "disabled"
            else:
                webhook.failure_count += 1
            ping = self.save(webhook)
        if ping:
            self.ping(webhook)
        return delivery

    def ping(self, webhook: Webhook) -> Delivery:
        """WC_Webhook::deliver_ping(): 200 and only 200 clears pending_delivery."""
        delivery = self._post("ping", webhook.delivery_url, ping_headers(self.fake.user_agent),
                              f"webhook_id={webhook.id}".encode(), PING_TIMEOUT, follow=True, webhook=webhook)
        if delivery.status == 200:
            webhook.pending_delivery = False
            webhook.date_modified = self.fake.memory.now()
        return delivery

    # -- HTTP -------------------------------------------------------------------------------------
    def _post(self, kind: str, url: str, headers: dict, body: bytes, timeout: float, *, follow: bool,
              webhook: Webhook | None = None, resource_id: int | None = None, delivery_id: str | None = None,
              payload=None) -> Delivery:
        fake = self.fake
        delivery = Delivery(len(fake.deliveries), kind, url, dict(headers), body,
                            webhook_id=webhook.id if webhook else None, topic=webhook.topic if webhook else None,
                            resource_id=resource_id, delivery_id=delivery_id, payload=payload,
                            sent_at=fake.memory.now())
        fake.deliveries.append(delivery)
        if not fake.allow_local_urls and not safe_url(url, fake.memory.site.home_url):
            delivery.error = "A valid URL was not provided."
            return delivery
        failure = fake.take_delivery_failure()
        if failure is not None:
            delivery.error = failure
            return delivery
        try:
            if fake.deliver is not None:
                delivery.status = int(fake.deliver(url, dict(headers), body))
            else:
                response = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=follow)
                delivery.status = response.status_code
        except Exception as exc:  # noqa: BLE001 - any failure of the request is a WP_Error
            delivery.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return delivery

    def post_json(self, kind: str, url: str, payload, timeout: float = 60.0) -> Delivery:
        """A JSON POST that is not a webhook (the /wc-auth key callback)."""
        charset = "UTF-8"
        body = json_encode(payload)
        headers = {"User-Agent": f"WordPress/{self.fake.memory.site.wp_version}; {self.fake.memory.site.home_url}",
                   "Content-Type": f"application/json;charset={charset}"}
        return self._post(kind, url, headers, body, timeout, follow=True, payload=payload)
