"""FakeWooCommerce's handles on webhooks, /wc-auth, failure injection and the requests it saw.

A mixin, so that fake.py stays about the store itself; the methods are part of FakeWooCommerce's
public API (see the package docstring).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from . import wc_auth
from .transport import HttpxTransport, WSGIAdapter, routes_requests
from .wc_auth import build_url, validate as validate_auth
from .webhooks import Delivery, sign


@dataclass
class Call:
    """One REST request the fake answered (`fake.requests`), for assertions and request counts."""
    method: str
    route: str
    query: str
    scheme: str
    status: int | None = None
    auth_method: str = ""
    key_id: int | None = None
    seconds: float = 0.0

    def __getitem__(self, key: str):
        return getattr(self, key)


class SiteHelpers:
    # -- webhooks -------------------------------------------------------------------------------
    def create_webhook(self, topic: str, delivery_url: str, *, secret: str | None = None, name: str | None = None) -> dict:
        """As the merchant would in WooCommerce > Settings > Advanced > Webhooks (pings once)."""
        with self.lock:
            webhook = self.webhook_service.create(topic, delivery_url, name=name, secret=secret)
            self.memory.changed()
        self.webhook_service.ping(webhook)
        return self.webhook(webhook.id)

    def webhook(self, webhook_id: int) -> dict:
        """Inspection: everything WooCommerce stores, secret, failure_count and pending_delivery included."""
        with self.lock:
            w = self.webhook_service.webhooks[webhook_id]
            return {"id": w.id, "name": w.name, "status": w.status, "topic": w.topic, "resource": w.resource,
                    "event": w.event, "delivery_url": w.delivery_url, "secret": w.secret, "user_id": w.user_id,
                    "failure_count": w.failure_count, "pending_delivery": w.pending_delivery,
                    "api_version": w.api_version, "date_created": w.date_created, "date_modified": w.date_modified}

    def webhooks(self) -> list[dict]:
        with self.lock:
            ids = list(self.webhook_service.webhooks)
        return [self.webhook(i) for i in ids]

    def set_webhook_status(self, webhook_id: int, status: str) -> dict:
        with self.lock:
            webhook = self.webhook_service.webhooks[webhook_id]
            webhook.status = status
            ping = self.webhook_service.save(webhook)
        if ping:
            self.webhook_service.ping(webhook)
        return self.webhook(webhook_id)

    def flush_webhooks(self) -> list[Delivery]:
        """Run the queued deliveries (Action Scheduler's woocommerce_deliver_webhook_async)."""
        return self.webhook_service.run()

    @property
    def pending_webhooks(self) -> list[tuple[int, int]]:
        """Queued (webhook id, resource id) pairs, in delivery order."""
        with self.lock:
            return list(self.webhook_service.queue.pending)

    def webhook_deliveries(self, topic: str | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if d.kind == "webhook" and (topic is None or d.topic == topic)]

    @property
    def pings(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.kind == "ping"]

    def deliver_raw(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST exactly these headers and body through `deliver` (forged or replayed deliveries)."""
        delivery = Delivery(len(self.deliveries), "raw", url, dict(headers), body, sent_at=self.memory.now())
        self.deliveries.append(delivery)
        delivery.status = int(self.deliver(url, dict(headers), body)) if self.deliver else None
        return delivery.status or 0

    sign = staticmethod(sign)

    # -- the /wc-auth/v1 dance ------------------------------------------------------------------
    def authorize_url(self, app_name: str, return_url: str, callback_url: str, user_id: str = "1",
                      scope: str = "read_write") -> str:
        data = {"app_name": app_name, "user_id": user_id, "return_url": return_url, "callback_url": callback_url,
                "scope": scope}
        return build_url(self.site_url, data, "authorize")

    def _auth_data(self, url: str) -> dict:
        from .php import parse_str

        data = validate_auth(parse_str(urlsplit(url).query), allow_insecure_callback=self.allow_insecure_callback)
        return data

    def approve(self, authorize_url: str) -> str:
        """The merchant logs in and clicks Approve: keys are POSTed to the callback; returns the
        return_url redirect (…success=1&user_id=…). Raises WcAuthError with WooCommerce's message."""
        return wc_auth.grant(self, self._auth_data(authorize_url))

    def deny(self, authorize_url: str) -> str:
        """The merchant clicks Deny: returns the return_url redirect (…success=0&user_id=…)."""
        data = self._auth_data(authorize_url)
        self.authorizations.append({"app_name": data["app_name"], "user_id": data["user_id"], "approved": False,
                                    "key_id": None, "error": None})
        return wc_auth.return_url(data, 0)

    def merchant_cookies(self) -> dict[str, str]:
        """The logged-in admin's cookie, to walk the HTML flow without the login form."""
        site = self.memory.site
        return {wc_auth.SESSION_COOKIE: wc_auth.session_token(site.salt, site.admin_login)}

    # -- failure injection ----------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int | str = 500, *, path: str | None = None,
                  retry_after: int | None = None) -> None:
        """The next `n` REST requests (whose route contains `path`, when given) answer `status`
        (500: WordPress's critical-error JSON; 429/502/503/504: the host's HTML page, 429 with
        Retry-After) or, with "timeout", raise the client's read timeout; nothing runs."""
        if status not in (429, 500, 502, 503, 504, "timeout"):
            raise ValueError("status must be 429, 500, 502, 503, 504 or 'timeout'")
        with self.lock:
            for _ in range(n):
                self._failures.append({"status": status, "path": path,
                                       "retry_after": retry_after if retry_after is not None else (1 if status == 429 else None)})

    def take_failure(self, route: str) -> dict | None:
        with self.lock:
            for failure in self._failures:
                if failure["path"] is None or failure["path"] in route:
                    self._failures.remove(failure)
                    return failure
            return None

    def fail_deliveries(self, n: int = 1, error: str = "cURL error 28: Operation timed out after 5000 milliseconds") -> None:
        """The next `n` outgoing POSTs (webhooks, pings, callbacks) fail without reaching the app."""
        with self.lock:
            self._delivery_failures.extend([error] * n)

    def take_delivery_failure(self) -> str | None:
        with self.lock:
            return self._delivery_failures.popleft() if self._delivery_failures else None

    # -- requests made, and ways in -------------------------------------------------------------
    @property
    def request_count(self) -> int:
        return len(self.requests)

    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def record_request(self, method: str, route: str, query: str, scheme: str) -> Call:
        call = Call(method, route, query, scheme)
        with self.lock:
            self.requests.append(call)
        return call

    def routes_requests(self):
        """Context manager: requests (hence woocommerce.API) reaches this fake, no network."""
        return routes_requests(self)

    def requests_adapter(self) -> WSGIAdapter:
        return WSGIAdapter(self.wsgi_app)

    def httpx_transport(self) -> HttpxTransport:
        return HttpxTransport(self.wsgi_app)

    def api(self, consumer_key: str, consumer_secret: str, *, https: bool = True, **options):
        """A woocommerce.API client for this site (https: Basic auth; http: OAuth 1.0a)."""
        from woocommerce import API

        scheme = "https" if https else "http"
        url = f"{scheme}://{self.site_url.split('://', 1)[1]}"
        return API(url=url, consumer_key=consumer_key, consumer_secret=consumer_secret, version="wc/v3",
                   timeout=options.pop("timeout", 30), **options)

