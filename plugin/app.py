"""The Flask app factory. Blueprints are thin entrypoints over services; state lives in Runtime."""
from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from plugin.runtime import Runtime, build_runtime

# Machine-to-machine routes: platforms send no cookies there, and no session must be written.
_SESSIONLESS_PREFIXES = ("/webhooks/",)


class _CookieSessionExceptForMachines(SecureCookieSessionInterface):
    """Flask's signed-cookie session, not opened for webhook deliveries: parsing the cookies and
    building the signer was ~12 % of a delivery's CPU for a session nobody reads. There the
    session is Flask's null session, which refuses writes."""

    def open_session(self, app, request):
        if request.path.startswith(_SESSIONLESS_PREFIXES):
            return None
        return super().open_session(app, request)


def create_app(runtime: Runtime | None = None) -> Flask:
    runtime = runtime or build_runtime()
    app = Flask(__name__, instance_path=str(runtime.settings.instance_path))
    app.session_interface = _CookieSessionExceptForMachines()
    app.config.update(
        SECRET_KEY=runtime.settings.resolved_secret_key(),
        # The webhook endpoint enforces its own, clearer 413; this guards every other route.
        MAX_CONTENT_LENGTH=runtime.settings.webhook_max_bytes + 1024,
        JSON_SORT_KEYS=False,
    )
    app.extensions["backorder_desk"] = runtime

    from plugin.health import bp as health_bp
    from webhooks.blueprint import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    app.register_blueprint(health_bp)
    try:
        from connectors.shopify.auth import bp as shopify_auth_bp
    except ImportError:  # pragma: no cover - during bootstrap only
        shopify_auth_bp = None
    if shopify_auth_bp is not None:
        app.register_blueprint(shopify_auth_bp)
    from connectors.shopify.app_proxy import bp as shopify_app_proxy_bp  # storefront requests via Shopify
    app.register_blueprint(shopify_app_proxy_bp)
    from plugin.choices.blueprint import bp as choices_bp  # the customer's keep-or-refund pages
    app.register_blueprint(choices_bp)
    from connectors.woocommerce.connect import bp as woocommerce_connect_bp  # /connect/woocommerce
    app.register_blueprint(woocommerce_connect_bp)
    from plugin.admin.blueprint import bp as admin_bp  # the merchant's admin: /admin pages, /api/admin
    app.register_blueprint(admin_bp)
    from webhooks.blueprint import WebhookFastPath  # deliveries skip Flask's per-request machinery

    app.wsgi_app = WebhookFastPath(app.wsgi_app, runtime)
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["backorder_desk"]
