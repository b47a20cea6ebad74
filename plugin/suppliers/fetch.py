"""Downloading a supplier's feed over HTTP(S) with requests: conditional, bounded, retried.

* Conditional: the stored ETag / Last-Modified go out as If-None-Match / If-Modified-Since; a
  304 is `not_modified` and the caller changes nothing.
* Bounded: connect 5 s, read 30 s (per socket read, as requests counts it), at most
  `MAX_FEED_BYTES` of (decompressed) body, at most `MAX_REDIRECTS` redirects.
* Retried: connection errors, 429 and 5xx are retried with exponential backoff by urllib3's
  `Retry` (Retry-After honoured, capped at `MAX_RETRY_AFTER` seconds so one feed cannot stall the
  scheduler); a read timeout is retried once.
* Quiet about secrets: the optional auth header ("Name: value", stored encrypted) is never logged
  nor put in an error message, and is dropped when a redirect leaves the feed's origin (requests
  would only strip `Authorization`, not e.g. `X-Api-Key`). URLs in messages and logs lose their
  query string and credentials, which suppliers sometimes use for tokens.

Every outcome is a `FetchResult`; nothing here raises for a network or HTTP problem.
"""
from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from plugin.netguard import PrivateAddress, check_public_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 64 * 1024


def _user_agent() -> str:
    try:
        version = metadata.version("backorder-desk")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"BackorderDesk/{version} (supplier feed sync)"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class FetchResult:
    status: Literal["ok", "not_modified", "failed"]
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    http_status: int | None = None
    content_type: str | None = None


class _CappedRetry(Retry):
    """urllib3's Retry, but a server's Retry-After cannot make us sleep longer than MAX_RETRY_AFTER."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def feed_session(retries: int = 3, backoff_factor: float = 0.5) -> requests.Session:
    """A requests session that retries GETs on connection errors, 429 and 5xx with backoff."""
    retry = _CappedRetry(
        total=retries, connect=retries, read=min(retries, 1), status=retries, other=0,
        backoff_factor=backoff_factor, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def redact_url(url: str) -> str:
    """scheme://host[:port]/path: no credentials, no query (tokens live there), no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_auth_header(value: str | None) -> tuple[str, str] | None:
    """'Authorization: Bearer x' -> ('Authorization', 'Bearer x'). Errors never echo the value."""
    if value is None or not value.strip():
        return None
    name, sep, secret = value.partition(":")
    name, secret = name.strip(), secret.strip()
    if not sep or not name or not secret:
        raise ValueError("the auth header must look like 'Name: value' (e.g. 'Authorization: Bearer <token>')")
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("the auth header must be on one line")
    if not all(33 <= ord(ch) <= 126 and ch not in '()<>@,;:\\"/[]?={}' for ch in name):
        raise ValueError("the auth header's name may only hold letters, digits and - _ .")
    return name, secret


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def check_feed_url(url: str | None) -> str:
    if not url or not url.strip():
        raise ValueError("the supplier has no feed URL")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError("the feed URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the feed URL must start with http:// or https://")
    return url


def fetch_feed(supplier, session: requests.Session | None = None, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
               max_bytes: int = MAX_FEED_BYTES, allow_private: bool = False) -> FetchResult:
    """Download `supplier.feed_url` (conditionally, see the module docstring).

    Every hop (the URL and each redirect) must lead to a public address unless `allow_private`
    (development and tests; see plugin/netguard.py).
    """
    try:
        url = check_feed_url(supplier.feed_url)
        check_public_url(url, allow_private=allow_private, what="the feed URL")
        auth = parse_auth_header(supplier.feed_auth_header)
    except ValueError as exc:
        return _failed(supplier, supplier.feed_url or "", str(exc))
    headers = {"User-Agent": USER_AGENT, "Accept": "text/csv, application/json;q=0.9, text/plain;q=0.8, */*;q=0.5"}
    if supplier.feed_etag:
        headers["If-None-Match"] = supplier.feed_etag
    if supplier.feed_last_modified:
        headers["If-Modified-Since"] = supplier.feed_last_modified
    start_origin = _origin(url)
    own = session is None
    session = session or feed_session()
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            if auth and _origin(url) == start_origin:
                sent[auth[0]] = auth[1]
            response = session.get(url, headers=sent, timeout=timeout, stream=True, allow_redirects=False)
            with closing(response):
                if response.is_redirect:
                    target = urljoin(url, response.headers["Location"])
                    if urlsplit(target).scheme not in ("http", "https"):
                        return _failed(supplier, url, f"redirected to a non-HTTP address ({redact_url(target)})")
                    try:
                        check_public_url(target, allow_private=allow_private, what="a redirect of the feed")
                    except PrivateAddress as exc:
                        return _failed(supplier, url, str(exc))
                    url = target
                    continue
                return _answer(supplier, url, response, max_bytes)
        return _failed(supplier, url, f"more than {MAX_REDIRECTS} redirects")
    except requests.RequestException as exc:
        return _failed(supplier, url, _network_reason(exc, url, timeout))
    finally:
        if own:
            session.close()


def _answer(supplier, url: str, response: requests.Response, max_bytes: int) -> FetchResult:
    where = redact_url(url)
    if response.status_code == 304:
        log.info("supplier feed not modified", extra={"supplier_id": supplier.id, "url": where})
        return FetchResult("not_modified", etag=response.headers.get("ETag") or supplier.feed_etag,
                           last_modified=response.headers.get("Last-Modified") or supplier.feed_last_modified,
                           http_status=304)
    if response.status_code != 200:
        hint = " (check the feed's auth header)" if response.status_code in (401, 403) else ""
        return _failed(supplier, url, f"HTTP {response.status_code} {response.reason or ''}".rstrip()
                       + f" from {where}{hint}", response.status_code)
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return _failed(supplier, url, f"the feed is {int(declared)} bytes, more than the {max_bytes} bytes allowed", 200)
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                return _failed(supplier, url, f"the feed is more than the {max_bytes} bytes allowed", 200)
    except requests.RequestException as exc:
        return _failed(supplier, url, f"the download from {where} broke off ({_network_reason(exc, url, None)})", 200)
    log.info("supplier feed fetched", extra={"supplier_id": supplier.id, "url": where, "bytes": len(body)})
    return FetchResult("ok", bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified"),
                       http_status=200, content_type=response.headers.get("Content-Type"))


def _network_reason(exc: Exception, url: str, timeout) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "?")
    connect_s, read_s = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out connecting to {host} (after {connect_s:g} s)"
    if isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return f"{host} sent nothing for {read_s:g} s (read timeout)" if read_s else f"read timeout from {host}"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error talking to {host} (certificate or protocol)"
    if isinstance(reason, NameResolutionError):
        return f"host {parts.hostname} not found (DNS)"
    if isinstance(reason, NewConnectionError):
        text = str(reason).lower()
        if "refused" in text:
            return f"could not connect to {host} (connection refused)"
        if "name or service" in text or "nodename" in text or "resolution" in text:
            return f"host {parts.hostname} not found (DNS)"
        return f"could not connect to {host}"
    if isinstance(exc, requests.ConnectionError):
        return f"connection to {host} failed"
    return f"{type(exc).__name__} talking to {host}"


def _failed(supplier, url: str, reason: str, http_status: int | None = None) -> FetchResult:
    log.warning("supplier feed download failed",
                extra={"supplier_id": getattr(supplier, "id", None), "url": redact_url(url) if url else None,
                       "reason": reason})
    return FetchResult("failed", error=reason, http_status=http_status)
