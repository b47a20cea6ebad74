"""The dev store's HTTP face: Shopify's OAuth and Admin GraphQL endpoints, plus demo helpers.

The Host header names the shop, as on Shopify (`https://<shop>.myshopify.com/...` through
httpx.WSGITransport, or any server address with `Host: <shop>.myshopify.com`). Routes are
relative, so the app also works mounted under a prefix (DispatcherMiddleware at /_fake/shopify).
Everything the real Shopify does not have lives under /_devstore/.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from . import graphql_api
from .store import StoreError
from .tokens import TOKEN_EXCHANGE, OAuthError

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    # Flask's jsonify sorts keys; Shopify's answers keep their order (errors, data, extensions).
    return Response(json.dumps(body), status=status, headers=headers or {}, mimetype="application/json")


def oauth_hmac(secret: str, params: dict[str, str]) -> str:
    """Shopify's query-string HMAC: hex HMAC-SHA256 of the sorted key=value pairs joined by &."""
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def create_app(fake) -> Flask:
    app = Flask("connectors.shopify.devstore")

    def host_shop() -> str | None:
        host = (request.headers.get("X-Forwarded-Host") or request.host or "").split(",")[0].strip()
        host = host.rsplit(":", 1)[0] if ":" in host else host
        return host.lower() if host.lower() in fake.store.shops else None

    def no_shop() -> Response:
        return _json({"errors": "Not Found"}, 404)

    @app.post("/admin/oauth/access_token")
    def access_token():
        shop = host_shop()
        if shop is None:
            return no_shop()
        params = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        params = params if isinstance(params, dict) else {}
        try:
            fake.tokens.check_client(params)
            grant = params.get("grant_type")
            with fake.lock:
                if grant == TOKEN_EXCHANGE:
                    answer = fake.tokens.token_exchange(shop, params)
                    fake.installed.add(shop)
                elif grant == "refresh_token":
                    if shop not in fake.installed:
                        raise OAuthError(401, "invalid_client", "The app is not installed on this shop.")
                    answer = fake.tokens.refresh_grant(shop, params)
                elif params.get("code"):
                    answer = fake.tokens.code_grant(shop, params)
                    fake.installed.add(shop)
                else:
                    raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        return _json(answer)

    @app.get("/admin/oauth/authorize")
    def authorize():
        """The merchant approves at once; redirects like Shopify with a signed query string."""
        shop = host_shop()
        if shop is None:
            return no_shop()
        if request.args.get("client_id") != fake.api_key:
            return Response("Oauth error invalid_request: Could not find Shopify API application with api_key "
                            f"{request.args.get('client_id')}", 400)
        redirect_uri = request.args.get("redirect_uri")
        if not redirect_uri:
            return Response("Oauth error invalid_request: The redirect_uri is missing", 400)
        scopes = frozenset(s.strip() for s in request.args.get("scope", "").split(",") if s.strip())
        per_user = "per-user" in request.args.getlist("grant_options[]")
        with fake.lock:
            code = fake.tokens.new_code(shop, scopes, 1 if per_user else None)
        handle = shop.split(".")[0]
        params = {"code": code, "host": base64.b64encode(f"admin.shopify.com/store/{handle}".encode()).decode().rstrip("="),
                  "shop": shop, "timestamp": str(int(time.time()))}
        if "state" in request.args:
            params["state"] = request.args["state"]
        params["hmac"] = oauth_hmac(fake.api_secret, params)
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{urlencode(params)}", code=302)

    def authenticated(shop):
        with fake.lock:
            return fake.tokens.authenticate(request.headers.get("X-Shopify-Access-Token"), shop)

    @app.post("/admin/api/<version>/graphql.json")
    def graphql_endpoint(version):
        shop = host_shop()
        if shop is None or version != fake.api_version:
            return no_shop()
        token = authenticated(shop)
        if token is None:
            return _json({"errors": INVALID_TOKEN}, 401)
        headers = {"X-Request-Id": str(uuid.uuid4()), "X-Shopify-API-Version": fake.api_version}
        failure = fake.take_failure()
        if failure is not None:
            status, retry_after = failure
            with fake.lock:
                fake.calls.append(graphql_api_call(shop, None, status))
            if status == 429:
                headers["Retry-After"] = retry_after
                return _json({"errors": "Exceeded the rate limit for this store. Retry after the Retry-After delay."},
                             429, headers)
            return _json({"errors": "Internal Server Error" if status == 500 else "Service Unavailable"}, status, headers)
        if request.mimetype == "application/graphql":
            payload = {"query": request.get_data(as_text=True)}
        else:
            payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400, headers)
        outcome = graphql_api.run(fake.schema, payload, make_context=lambda: fake.context(shop, token.scopes),
                                  bucket=fake.bucket(shop), lock=fake.lock)
        with fake.lock:
            fake.calls.append(graphql_api_call(shop, outcome.operation_name, outcome.status, outcome.requested_cost,
                                               outcome.actual_cost, outcome.throttled))
        if outcome.context is not None and outcome.context.events:
            fake._queue_events(shop, outcome.context.events)  # noqa: SLF001 - the fake's own plumbing
        return _json(outcome.body, outcome.status, headers)

    @app.get("/admin/oauth/access_scopes.json")
    def access_scopes():
        shop = host_shop()
        if shop is None:
            return no_shop()
        token = authenticated(shop)
        if token is None:
            return _json({"errors": INVALID_TOKEN}, 401)
        return _json({"access_scopes": [{"handle": scope} for scope in sorted(token.scopes)]})

    @app.route("/admin/api/<version>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def rest_api(version, rest):
        return _json({"errors": f"fake Shopify does not implement the REST Admin API ({rest})"}, 501)

    # -- demo helpers (not Shopify) -------------------------------------------------------------
    @app.post("/_devstore/orders")
    def devstore_order():
        body = request.get_json(silent=True) or {}
        try:
            shop = body["shop"]
            lines = body.get("lines") or [{"sku": body["sku"], "quantity": body.get("quantity", 1)}]
            resolved = [(fake.variant_by_sku(shop, line["sku"]), int(line.get("quantity", 1))) for line in lines]
            extra = {k: body[k] for k in ("email", "locale", "customer_name", "shipping") if body.get(k)}
            order = fake.place_order(shop, resolved, **extra)
        except KeyError as exc:
            return _json({"error": f"missing field {exc.args[0]!r}"}, 400)
        except (StoreError, ValueError) as exc:
            return _json({"error": str(exc)}, 422)
        return _json(order, 201)

    @app.get("/_devstore/shops/<domain>/orders/<int:legacy_id>")
    def devstore_show_order(domain, legacy_id):
        try:
            return _json(fake.order_by_number(domain, legacy_id))
        except StoreError as exc:
            return _json({"error": str(exc)}, 404)

    @app.post("/_devstore/shops/<domain>/orders/<int:legacy_id>/cancel")
    def devstore_cancel_order(domain, legacy_id):
        try:
            return _json(fake.cancel_order(domain, f"gid://shopify/Order/{legacy_id}"))
        except StoreError as exc:
            return _json({"error": str(exc)}, 422)

    @app.get("/_bulk/<name>")
    def bulk_result(name):
        """A bulk operation's JSONL result: Shopify serves it from a storage host, by signed URL."""
        from .bulk import bulk_operations

        with fake.lock:
            status, body = bulk_operations(fake).download(name, request.args.get("sig"))
        return Response(body, status=status, mimetype="application/jsonl" if status == 200 else "text/plain")

    return app


def graphql_api_call(shop, operation, status, requested=None, actual=None, throttled=False):
    from .fake import Call

    return Call(shop, operation, requested, actual, throttled, status)
