"""The bits of PHP and WordPress behaviour the fake must reproduce byte for byte.

WooCommerce verifies OAuth signatures over `$_GET` as PHP parsed it, signs webhook bodies that
`wp_json_encode` produced, and builds pagination links with `add_query_arg`; an app that works
against the fake must work against those exact rules, so they live here, written once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import quote, unquote_plus


def rawurlencode(value: str) -> str:
    """PHP rawurlencode: RFC 3986, everything but A-Z a-z 0-9 - _ . ~ encoded (so '/' too)."""
    return quote(str(value), safe="-_.~")


def php_value(value) -> str:
    """How PHP turns a scalar into a string (true -> "1", false/None -> "")."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


def _normalize_name(name: str) -> str:
    # PHP turns spaces and dots in variable names into underscores and drops leading spaces.
    name = name.lstrip(" ")
    out = []
    for index, char in enumerate(name):
        if char in " .":
            out.append("_")
        elif char == "[" and "]" not in name[index:]:
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def parse_str(query: str) -> dict:
    """PHP's parse_str / $_GET: `a[]=1&a[]=2&b[x]=3` nests, a repeated plain key keeps the last.

    Nested PHP arrays are dicts with str keys ("0", "1", ...) in insertion order; `php_list`
    turns them into lists where the REST API would."""
    result: dict = {}
    if not query:
        return result
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key)
        value = unquote_plus(raw_value)
        if not key:
            continue
        bracket = key.find("[")
        if bracket <= 0 or "]" not in key[bracket:]:
            result[_normalize_name(key)] = value
            continue
        base = _normalize_name(key[:bracket])
        segments = []
        rest = key[bracket:]
        while rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                break
            segments.append(rest[1:end])
            rest = rest[end + 1:]
        target = result
        name = base
        for segment in segments:
            child = target.get(name)
            if not isinstance(child, dict):
                child = {}
                target[name] = child
            target = child
            if segment == "":
                numeric = [int(k) for k in target if str(k).lstrip("-").isdigit()]
                segment = str(max(numeric) + 1 if numeric else 0)
            name = segment
        target[name] = value
    return result


def php_list(value):
    """A PHP array with keys 0..n-1 as a list; anything else unchanged."""
    if isinstance(value, dict) and list(value) == [str(i) for i in range(len(value))]:
        return list(value.values())
    return value


def json_encode(data) -> bytes:
    """wp_json_encode with WordPress's default flags: compact, non-ASCII as \\uXXXX, '/' as '\\/'.

    Only strings can hold a '/', so escaping it in the encoded text is exact."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def wp_hash(data: str, salt: str) -> str:
    """wp_hash(): HMAC-MD5 with the site's salt, hex."""
    return hmac.new(salt.encode(), data.encode(), hashlib.md5).hexdigest()


def wc_rand_hash() -> str:
    """wc_rand_hash(): sha1 of a random number, 40 hex digits."""
    return hashlib.sha1(secrets.token_bytes(16)).hexdigest()


def wc_api_hash(data: str) -> str:
    """wc_api_hash(): how WooCommerce stores a consumer key (HMAC-SHA256 keyed 'wc-api')."""
    return hmac.new(b"wc-api", data.encode(), hashlib.sha256).hexdigest()


def build_query(params) -> str:
    """_http_build_query(..., urlencode=false), as add_query_arg uses it: raw key=value pairs."""
    parts: list[str] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}[{key}]", child)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(f"{prefix}[{index}]", child)
        elif value is not None:
            parts.append(f"{prefix}={php_value(value)}")

    items = params.items() if isinstance(params, dict) else params
    for key, value in items:
        walk(str(key), value)
    return "&".join(parts)


def add_query_arg(url: str, params: dict) -> str:
    """add_query_arg(params, url): existing keys are replaced in place, new ones appended."""
    base, _, query = url.partition("?")
    merged = parse_str(query)
    for key, value in params.items():
        merged[str(key)] = value
    built = build_query(merged)
    return f"{base}?{built}" if built else base
