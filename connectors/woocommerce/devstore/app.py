"""The fake's HTTP face: WordPress's REST API under /wp-json/ and WooCommerce's /wc-auth/v1/.

Demo helpers that WooCommerce does not have live under /_devstore/ (devtools.py). Paths are
relative to the site URL (a site at https://example.com/shop answers /shop/wp-json/...),
and `?rest_route=/wc/v3/...` works as with plain permalinks. Everything happens under the
fake's lock except outgoing HTTP (pings, callbacks), which runs after it is released.
"""
from __future__ import annotations

import json
import time
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Request, Response

from . import devtools, routes_catalog, routes_orders, routes_webhooks, wc_auth
from .auth import AuthInput, authenticate, check_permissions
from .errors import RestError, no_route
from .php import json_encode, parse_str
from .rest import REST_PREFIX, Answer, Req, Router, dispatch, parse_json_body
from .transport import DevstoreTimeout

BASE_HEADERS = [("X-Robots-Tag", "noindex"), ("X-Content-Type-Options", "nosniff"),
                ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"),
                ("Access-Control-Allow-Headers", "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type")]


def _json_response(data, status: int, headers: list[tuple[str, str]]) -> Response:
    response = Response(json_encode(data), status=status, content_type="application/json; charset=UTF-8")
    for name, value in BASE_HEADERS + headers:
        response.headers.add(name, value)
    return response


def _failure_response(failure: dict) -> Response:
    status = failure["status"]
    if status == 500:
        return _json_response({"code": "internal_server_error",
                               "message": "<p>There has been a critical error on this website.</p>",
                               "data": {"status": 500}, "additional_errors": []}, 500, [])
    response = Response(f"<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center>"
                        "<hr><center>nginx</center></body></html>", status=status, content_type="text/html")
    if failure.get("retry_after") is not None:
        response.headers["Retry-After"] = str(failure["retry_after"])
    return response


def create_app(fake):
    router = Router()
    routes_catalog.register(router, fake)
    routes_orders.register(router, fake)
    routes_webhooks.register(router, fake)
    site_path = urlsplit(fake.site_url).path.rstrip("/")

    def rest(request: Request, route: str, raw_path: str) -> Response:
        started = time.perf_counter()
        query = parse_str(request.query_string.decode("latin-1"))
        query.pop("rest_route", None)
        method = request.method.upper()
        override = query.get("_method") or request.headers.get("X-HTTP-Method-Override")
        if method == "POST" and isinstance(override, str) and override:
            method = override.upper()
        body = request.get_data()
        content_type = request.headers.get("Content-Type", "")
        form = parse_str(body.decode("utf-8", "replace")) if "application/x-www-form-urlencoded" in content_type else {}
        call = fake.record_request(method, route, request.query_string.decode("latin-1"), request.scheme)
        failure = fake.take_failure(route)
        if failure is not None:
            call.status = failure["status"] if failure["status"] != "timeout" else None
            if failure["status"] == "timeout":
                raise DevstoreTimeout(route)
            return _failure_response(failure)
        with fake.lock:
            auth_input = AuthInput(method, request.scheme == "https", raw_path, query, form,
                                   request.headers.get("Authorization", ""))
            result = authenticate(fake.keys, auth_input, fake.site_url.rstrip("/"), fake.memory.now().timestamp())
            call.auth_method, call.key_id = result.method, result.key.key_id if result.key else None
            try:
                if result.error is not None:
                    raise result.error
                req = Req(method, route, query, parse_json_body(body, content_type), form, key=result.key)
                if result.key is not None:
                    result.key.requests += 1
                    result.key.last_access = fake.memory.now()
                if route.rstrip("/") in ("", "/"):
                    answer = Answer(fake.index())
                else:
                    answer = dispatch(router, req, lambda handler: None, check_permissions)
                response = _json_response(answer.data, answer.status, answer.headers)
            except RestError as error:
                response = _json_response(error.body(), error.status, list(error.headers.items()))
            fake.schedule_events(from_api=True)
            deferred = fake.take_deferred()
        for action in deferred:
            action()
        fake.after_api_request()
        call.status = response.status_code
        call.seconds = time.perf_counter() - started
        return response

    def application(environ, start_response):
        request = Request(environ)
        path = request.path
        if site_path and (path == site_path or path.startswith(site_path + "/")):
            path = path[len(site_path):] or "/"
        elif site_path and not request.script_root:  # outside the site (a mount already strips it)
            path = "/not-this-site"
        raw_uri = environ.get("REQUEST_URI") or environ.get("RAW_URI") or quote(request.path)
        raw_path = raw_uri.split("?", 1)[0]
        if path == REST_PREFIX or path.startswith(REST_PREFIX + "/"):
            response = rest(request, path[len(REST_PREFIX):] or "/", raw_path)
        elif path in ("/", "/index.php") and "rest_route" in request.args:
            response = rest(request, request.args["rest_route"], raw_path)
        elif path.startswith("/wc-auth/v1/"):
            form = parse_str(request.get_data().decode("utf-8", "replace")) if request.method == "POST" else {}
            query = parse_str(request.query_string.decode("latin-1"))
            status, headers, body = wc_auth.handle(fake, request.method, path[len("/wc-auth/v1/"):], query, form,
                                                   dict(request.cookies))
            response = Response(body, status=status)
            for name, value in headers.items():
                response.headers[name] = value
        elif path.startswith("/_devstore/"):
            status, data = devtools.handle(fake, request.method, path[len("/_devstore/"):], request.get_data())
            response = Response(json.dumps(data), status=status, content_type="application/json")
        else:
            response = Response("<html><body><h1>Not Found</h1></body></html>", status=404, content_type="text/html")
        return response(environ, start_response)

    return application


__all__ = ["create_app", "no_route"]
