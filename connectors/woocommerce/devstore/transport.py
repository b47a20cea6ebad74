"""Reaching the fake without a network: a requests adapter and an httpx transport.

The `woocommerce` package calls `requests.request()` (a fresh Session per call), so the way in
is `routes_requests(fake, ...)`: while it is active, every requests Session sends URLs on the
fakes' hosts (http or https) to their WSGI apps and everything else to the network as usual.
`WSGIAdapter` can also be mounted on a Session of your own. A simulated timeout from
`fail_next(status="timeout")` surfaces as requests' ReadTimeout / httpx's ReadTimeout.
"""
from __future__ import annotations

import contextlib
import io
import threading
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class DevstoreTimeout(Exception):
    """Raised by the WSGI app for an injected timeout; the transports turn it into their own."""


def wsgi_call(app, method: str, url: str, headers, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    raw_path = parts.path or "/"
    from urllib.parse import unquote

    environ = {
        "REQUEST_METHOD": method.upper(), "SCRIPT_NAME": "", "PATH_INFO": unquote(raw_path),
        "QUERY_STRING": parts.query, "REQUEST_URI": raw_path + (f"?{parts.query}" if parts.query else ""),
        "RAW_URI": raw_path + (f"?{parts.query}" if parts.query else ""),
        "SERVER_NAME": parts.hostname or "localhost", "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scheme, "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body or b"")), "HTTP_HOST": parts.netloc,
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    captured: dict = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"], captured["headers"] = status, response_headers

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    code, _, reason = captured["status"].partition(" ")
    return int(code), reason, list(captured["headers"]), content


class WSGIAdapter(BaseAdapter):
    """A requests transport adapter that answers from a WSGI app."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            status, reason, headers, content = wsgi_call(self.app, request.method, request.url, request.headers, body)
        except DevstoreTimeout as exc:
            raise requests.exceptions.ReadTimeout(f"Read timed out. (read timeout={timeout})", request=request) from exc
        response = requests.Response()
        response.status_code, response.reason = status, reason
        merged: CaseInsensitiveDict = CaseInsensitiveDict()
        for name, value in headers:
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        response.headers = merged
        response._content = content  # noqa: SLF001 - a complete body, nothing left to stream
        response._content_consumed = True  # noqa: SLF001
        response.raw = io.BytesIO(content)
        response.url = request.url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(merged)
        return response

    def close(self):
        pass


class _Routes:
    def __init__(self):
        self.lock = threading.Lock()
        self.hosts: dict[str, list[WSGIAdapter]] = {}
        self.original = None

    def lookup(self, url: str):
        host = (urlsplit(url).netloc or "").lower()
        stack = self.hosts.get(host)
        return stack[-1] if stack else None


_routes = _Routes()


def _get_adapter(self, url):
    adapter = _routes.lookup(url)
    return adapter if adapter is not None else _routes.original(self, url)


@contextlib.contextmanager
def routes_requests(*fakes):
    """Send requests' traffic for these fakes' hosts to them (both http:// and https://)."""
    added = []
    with _routes.lock:
        if _routes.original is None:
            _routes.original = requests.Session.get_adapter
            requests.Session.get_adapter = _get_adapter
        for fake in fakes:
            host = urlsplit(fake.site_url).netloc.lower()
            adapter = WSGIAdapter(fake.wsgi_app)
            _routes.hosts.setdefault(host, []).append(adapter)
            added.append((host, adapter))
    try:
        yield
    finally:
        with _routes.lock:
            for host, adapter in added:
                _routes.hosts[host].remove(adapter)
                if not _routes.hosts[host]:
                    del _routes.hosts[host]
            if not _routes.hosts and _routes.original is not None:
                requests.Session.get_adapter = _routes.original
                _routes.original = None


class HttpxTransport(httpx.BaseTransport):
    """httpx.WSGITransport, with injected timeouts raised as httpx.ReadTimeout."""

    def __init__(self, app):
        self.inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.inner.handle_request(request)
        except DevstoreTimeout as exc:
            raise httpx.ReadTimeout("timed out (devstore)", request=request) from exc
