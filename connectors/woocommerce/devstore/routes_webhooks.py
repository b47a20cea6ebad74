"""/wc/v3/webhooks[/<id>], /webhooks/batch, /system_status, and the /wp-json/ index."""
from __future__ import annotations

import math
from urllib.parse import urlsplit

from .errors import RestError, invalid_id, missing_params
from .rest import Answer, Param, Req, Router, is_integer, paginate, require_auth, select_fields, validate
from .routes_catalog import run_batch
from .webhooks import STATUSES, Webhook, valid_topic

WEBHOOK_LIST = {
    "context": Param(enum=("view", "edit"), default="view"), "page": Param("integer", 1, minimum=1),
    "per_page": Param("integer", 10, minimum=1, maximum=100), "search": Param(),
    "after": Param("date-time"), "before": Param("date-time"), "exclude": Param("array", [], items_type="integer"),
    "include": Param("array", [], items_type="integer"), "offset": Param("integer"),
    "order": Param(enum=("asc", "desc"), default="desc"), "orderby": Param(enum=("date", "id", "title"), default="date"),
    "status": Param(enum=("all", "active", "paused", "disabled"), default="all"), "_fields": Param(),
}


def valid_url(url) -> bool:
    """wc_is_valid_url(): FILTER_VALIDATE_URL and an http(s) scheme."""
    if not isinstance(url, str) or not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def register(router: Router, fake) -> None:
    memory, service = fake.memory, fake.webhook_service
    tz = memory.site.timezone

    def data(webhook: Webhook, context: str = "view") -> dict:
        result = {"id": webhook.id, "name": webhook.name, "status": webhook.status, "topic": webhook.topic,
                  "resource": webhook.resource, "event": webhook.event, "hooks": webhook.hooks,
                  "delivery_url": webhook.delivery_url,
                  "date_created": memory.local(webhook.date_created), "date_created_gmt": memory.gmt(webhook.date_created),
                  "date_modified": memory.local(webhook.date_modified),
                  "date_modified_gmt": memory.gmt(webhook.date_modified)}
        if context == "edit":
            result["secret"] = webhook.secret
        result["_links"] = {"self": [{"href": f"{fake.payloads.rest_base}/webhooks/{webhook.id}"}],
                            "collection": [{"href": f"{fake.payloads.rest_base}/webhooks"}]}
        return result

    def webhook_list(req: Req) -> Answer:
        req.clean = validate(WEBHOOK_LIST, req.body(), tz)
        require_auth(req, "list")
        c = req.clean
        items = [w for w in service.webhooks.values() if c["status"] == "all" or w.status == c["status"]]
        if c.get("search"):
            items = [w for w in items if c["search"].lower() in w.name.lower()]
        if c.get("include"):
            items = [w for w in items if w.id in set(c["include"])]
        if c.get("exclude"):
            items = [w for w in items if w.id not in set(c["exclude"])]
        key = {"id": lambda w: w.id, "title": lambda w: w.name, "date": lambda w: (w.date_created, w.id)}[c["orderby"]]
        items.sort(key=key, reverse=c["order"] == "desc")
        answer = paginate(req, items, memory.site.home_url, "webhooks")
        per_page = c["per_page"]
        # search_webhooks(): max_num_pages is ceil(total / limit) only when limit > 1.
        pages = math.ceil(len(items) / per_page) if per_page > 1 else 1
        answer.headers = [(k, str(pages) if k == "X-WP-TotalPages" else v) for k, v in answer.headers]
        answer.data = select_fields([data(w, c["context"]) for w in answer.data], c.get("_fields"))
        return answer

    def create_webhook(body: dict, key_user: int) -> tuple[dict, Webhook]:
        if body.get("id"):
            raise RestError("woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400)
        topic = str(body.get("topic") or "").lower()
        if not topic or not valid_topic(topic):
            raise RestError("woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid.", 400)
        if not valid_url(body.get("delivery_url")):
            raise RestError("woocommerce_rest_shop_webhook_invalid_delivery_url",
                            "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400)
        # The REST controller always creates an active webhook; `status` in the body is ignored.
        webhook = service.create(topic, str(body["delivery_url"]), name=body.get("name") or None,
                                 secret=body.get("secret") or None, user_id=key_user)
        memory.changed()
        return data(webhook, "edit"), webhook

    def webhook_create(req: Req) -> Answer:
        body = req.body()
        missing = [name for name in ("topic", "delivery_url") if name not in body]
        if missing:
            raise missing_params(missing)
        require_auth(req, "create")
        result, webhook = create_webhook(body, req.key.user_id)
        fake.defer(lambda: service.ping(webhook))  # sent before the answer leaves, outside the lock
        return Answer(result, 201, [("Location", f"{fake.payloads.rest_base}/webhooks/{webhook.id}")])

    def webhook_get(req: Req) -> Answer:
        req.clean = validate({"context": Param(enum=("view", "edit"), default="view")}, req.body(), tz)
        require_auth(req, "view")
        webhook = service.webhooks.get(int(req.param("id")))
        if webhook is None:
            raise RestError("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
        return Answer(select_fields(data(webhook, req.clean["context"]), req.param("_fields")))

    def update_webhook(body: dict) -> dict:
        webhook = service.webhooks.get(int(body.get("id") or 0)) if is_integer(body.get("id") or 0) else None
        if webhook is None:
            raise RestError("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
        if body.get("topic"):
            if not valid_topic(str(body["topic"]).lower()):
                raise RestError("woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.", 400)
            webhook.topic = str(body["topic"]).lower()
        url_changed = False
        if body.get("delivery_url"):
            if not valid_url(body["delivery_url"]):
                raise RestError("woocommerce_rest_shop_webhook_invalid_delivery_url",
                                "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400)
            url_changed = body["delivery_url"] != webhook.delivery_url
            webhook.delivery_url = str(body["delivery_url"])
        if body.get("secret"):
            webhook.secret = str(body["secret"])
        if body.get("status"):
            if str(body["status"]).lower() not in STATUSES:
                raise RestError("woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.", 400)
            webhook.status = str(body["status"]).lower()
        if body.get("name"):
            webhook.name = str(body["name"])
        if service.save(webhook, url_changed=url_changed):
            fake.defer(lambda: service.ping(webhook))
        memory.changed()
        return data(webhook, "edit")

    def webhook_update(req: Req) -> Answer:
        require_auth(req, "edit")
        return Answer(update_webhook(req.body()))

    def delete_webhook(webhook_id: int, force: bool = True) -> dict:
        if not force:
            raise RestError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        webhook = service.webhooks.get(webhook_id)
        if webhook is None:
            raise invalid_id("shop_webhook")
        result = data(webhook, "edit")
        del service.webhooks[webhook_id]
        service.queue.pending = [item for item in service.queue.pending if item[0] != webhook_id]
        memory.changed()
        return result

    def webhook_delete(req: Req) -> Answer:
        req.clean = validate({"force": Param("boolean", False)}, req.body(), tz)
        require_auth(req, "delete")
        return Answer(delete_webhook(int(req.param("id")), bool(req.clean["force"])))

    def webhook_batch(req: Req) -> Answer:
        require_auth(req, "batch")

        def create(body: dict) -> dict:
            result, webhook = create_webhook(body, req.key.user_id)
            fake.defer(lambda: service.ping(webhook))
            return result

        return run_batch(req.body(), create, update_webhook, delete_webhook)

    router.add("webhooks", get=webhook_list, post=webhook_create)
    router.add("webhooks/batch", post_put_patch=webhook_batch)
    router.add(r"webhooks/(?P<id>[\d]+)", get=webhook_get, post_put_patch=webhook_update, delete=webhook_delete)

    def system_status(req: Req) -> Answer:
        require_auth(req, "list")
        site = memory.site
        return Answer({
            "environment": {"home_url": site.home_url, "site_url": site.home_url, "version": site.wc_version,
                            "wp_version": site.wp_version, "wp_multisite": False, "language": site.locale,
                            "external_object_cache": None, "server_info": "nginx", "php_version": "8.3.0",
                            "default_timezone": "UTC", "store_id": ""},
            "database": {"wc_database_version": site.wc_version},
            "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": site.wc_version}],
            "theme": {"name": "Storefront", "version": "4.6.0"},
            "settings": {"api_enabled": True, "force_ssl": False, "currency": site.currency,
                         "currency_symbol": site.currency_symbol, "currency_position": "left",
                         "thousand_separator": ",", "decimal_separator": ".", "number_of_decimals": 2,
                         "geolocation_enabled": False, "taxonomies": {}, "woocommerce_com_connected": "no"},
            "security": {"secure_connection": site.home_url.startswith("https://"), "hide_errors": True},
            "pages": [],
        })

    router.add("system_status", get=system_status)
    router.add("", get=lambda req: Answer({"namespace": "wc/v3", "routes": {}}))
