"""REST API keys and WooCommerce's authentication rules (WC_REST_Authentication).

Over HTTPS (`is_ssl()`), HTTP Basic with the consumer key and secret, or `consumer_key` and
`consumer_secret` in the query string. Then, whatever the scheme, OAuth 1.0a "one-legged":
oauth_* parameters in the query string, the form body or an `Authorization: OAuth` header,
HMAC-SHA1 or HMAC-SHA256 with key `consumer_secret&`, over
`METHOD&rawurlencode(home_url + path)&` + the sorted parameters, each `key=value` pair
rawurlencoded once more and joined by `%26`; the timestamp within 15 minutes of the server's
clock and the nonce unused in that window. Plain-HTTP Basic credentials are ignored, so the
request is anonymous and fails the endpoint's permission check.

Quirks kept on purpose: an unknown consumer key under Basic is not an error (the request just
stays anonymous: 401 woocommerce_rest_cannot_view); a wrong secret is
woocommerce_rest_authentication_error "Consumer secret is invalid."; used nonces are stored by
timestamp, so a second request in the same second replaces the first one's nonce.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

from .errors import RestError
from .php import rawurlencode, wc_api_hash, wc_rand_hash

PERMISSIONS = ("read", "write", "read_write")
OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
NONCE_WINDOW = 15 * 60
_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')


@dataclass
class ApiKey:
    key_id: int
    user_id: int
    description: str
    permissions: str
    consumer_key: str  # plaintext, for tests; WooCommerce keeps only wc_api_hash() of it
    consumer_secret: str
    consumer_key_hash: str
    truncated_key: str
    nonces: dict[int, str] = field(default_factory=dict)
    last_access: datetime | None = None
    requests: int = 0

    def public(self) -> dict:
        return {"key_id": self.key_id, "user_id": self.user_id, "description": self.description,
                "permissions": self.permissions, "consumer_key": self.consumer_key,
                "consumer_secret": self.consumer_secret, "truncated_key": self.truncated_key,
                "last_access": self.last_access, "requests": self.requests}


class KeyRing:
    def __init__(self):
        self._ids = itertools.count(1)
        self.keys: dict[int, ApiKey] = {}

    def create(self, user_id: int, description: str, permissions: str, consumer_key: str | None = None,
               consumer_secret: str | None = None) -> ApiKey:
        if permissions not in PERMISSIONS:
            raise ValueError(f"permissions must be one of {PERMISSIONS}")
        consumer_key = consumer_key or "ck_" + wc_rand_hash()
        key = ApiKey(next(self._ids), user_id, description, permissions, consumer_key,
                     consumer_secret or "cs_" + wc_rand_hash(), wc_api_hash(consumer_key), consumer_key[-7:])
        self.keys[key.key_id] = key
        return key

    def revoke(self, key_id: int) -> bool:
        return self.keys.pop(int(key_id), None) is not None

    def find(self, consumer_key: str) -> ApiKey | None:
        digest = wc_api_hash(consumer_key.strip())
        return next((k for k in self.keys.values() if hmac.compare_digest(k.consumer_key_hash, digest)), None)


@dataclass
class AuthInput:
    """What PHP would see of the request: method, is_ssl(), REQUEST_URI path, $_GET, $_POST, headers."""
    method: str
    is_ssl: bool
    path: str
    get: dict
    post: dict
    authorization: str = ""


@dataclass
class AuthResult:
    key: ApiKey | None = None
    error: RestError | None = None
    method: str = ""  # "basic_auth", "oauth1" or "" (no credentials tried)


def _auth_error(message: str, code: str = "woocommerce_rest_authentication_error") -> RestError:
    return RestError(code, message, 401)


def _basic_credentials(request: AuthInput) -> tuple[str, str]:
    key = request.get.get("consumer_key")
    secret = request.get.get("consumer_secret")
    if isinstance(key, str) and isinstance(secret, str) and key and secret:
        return key, secret
    header = request.authorization.strip()
    if header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return user, password
    return "", ""


def _oauth_parameters(request: AuthInput) -> tuple[dict, RestError | None]:
    params = {**request.get, **request.post}
    header = request.authorization.strip()
    if header.startswith("OAuth "):
        for match in _HEADER_PARAM.finditer(header):
            params[match.group(1)] = unquote(match.group(3) or match.group(4) or "")
    missing = [name for name in OAUTH_PARAMS if not params.get(name)]
    if len(missing) == len(OAUTH_PARAMS):
        return {}, None
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        return {}, _auth_error(f"Missing OAuth {noun} {', '.join(missing)}",
                               "woocommerce_rest_authentication_missing_parameter")
    return params, None


def _join_with_equals_sign(params: dict, out: list[str], prefix: str = "") -> list[str]:
    for key, value in params.items():
        name = f"{prefix}%5B{key}%5D" if prefix else key
        if isinstance(value, dict):
            _join_with_equals_sign(value, out, name)
        else:
            out.append(rawurlencode(f"{name}={value}"))
    return out


def _encode_values(value):
    if isinstance(value, dict):
        return {key: _encode_values(child) for key, child in value.items()}
    return rawurlencode(value)


def string_to_sign(method: str, base_uri: str, params: dict) -> str:
    """The string WooCommerce signs (check_oauth_signature), oauth_signature already removed."""
    ordered = sorted(params.items(), key=lambda item: str(item[0]).encode())
    normalized = {rawurlencode(str(key)): _encode_values(value) for key, value in ordered}
    return f"{method}&{rawurlencode(base_uri)}&" + "%26".join(_join_with_equals_sign(normalized, []))


def oauth_signature(secret: str, text: str, algorithm: str = "HMAC-SHA256") -> str:
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    return base64.b64encode(hmac.new(f"{secret}&".encode(), text.encode(), digest).digest()).decode()


def base_request_uri(home_url: str, request_path: str, is_ssl: bool) -> str:
    """rawurlencode's input: get_home_url(null, path relative to the home path, is_ssl scheme)."""
    _, _, rest = home_url.partition("://")
    host, _, home_path = rest.partition("/")
    wp_base = "/" + (home_path.strip("/") + "/" if home_path.strip("/") else "")
    path = request_path[len(wp_base):] if request_path.startswith(wp_base) else request_path
    home = f"{'https' if is_ssl else 'http'}://{host}" + (f"/{home_path.strip('/')}" if home_path.strip("/") else "")
    return f"{home}/{path.lstrip('/')}"


def authenticate(keys: KeyRing, request: AuthInput, home_url: str, now: float) -> AuthResult:
    result = AuthResult()
    if request.is_ssl:
        result.method = "basic_auth"
        consumer_key, consumer_secret = _basic_credentials(request)
        if consumer_key and consumer_secret:
            key = keys.find(consumer_key)
            if key is not None:
                if hmac.compare_digest(key.consumer_secret, consumer_secret):
                    result.key = key
                    return result
                result.error = _auth_error("Consumer secret is invalid.")
    params, error = _oauth_parameters(request)
    if error is not None:
        result.method, result.error = "oauth1", error
        return result
    if not params:
        return result
    result.method = "oauth1"
    key = keys.find(str(params["oauth_consumer_key"]))
    if key is None:
        result.error = _auth_error("Consumer key is invalid.")
        return result
    signature_error = _check_signature(key, request, params, home_url)
    if signature_error is not None:
        result.error = signature_error
        return result
    nonce_error = _check_timestamp_and_nonce(key, params["oauth_timestamp"], params["oauth_nonce"], now)
    if nonce_error is not None:
        result.error = nonce_error
        return result
    result.key, result.error = key, None
    return result


def _check_signature(key: ApiKey, request: AuthInput, params: dict, home_url: str) -> RestError | None:
    given = unquote(str(params["oauth_signature"]).replace(" ", "+"))
    rest = {name: value for name, value in params.items() if name != "oauth_signature"}
    text = string_to_sign(request.method.upper(), base_request_uri(home_url, request.path, request.is_ssl), rest)
    algorithm = rest.get("oauth_signature_method")
    if algorithm not in ("HMAC-SHA1", "HMAC-SHA256"):
        return _auth_error("Invalid signature - signature method is invalid.")
    if not hmac.compare_digest(oauth_signature(key.consumer_secret, text, algorithm), given):
        return _auth_error("Invalid signature - provided signature does not match.")
    return None


def _check_timestamp_and_nonce(key: ApiKey, timestamp, nonce, now: float) -> RestError | None:
    try:
        stamp = int(float(timestamp))
    except (TypeError, ValueError):
        stamp = 0
    if stamp < now - NONCE_WINDOW or stamp > now + NONCE_WINDOW:
        return _auth_error("Invalid timestamp.")
    if nonce in key.nonces.values():
        return _auth_error("Invalid nonce - nonce has already been used.")
    key.nonces[stamp] = nonce
    for old in [t for t in key.nonces if t < now - NONCE_WINDOW]:
        del key.nonces[old]
    return None


def check_permissions(key: ApiKey, method: str) -> RestError | None:
    """The key's own read/write permission (check_user_permissions, before dispatch)."""
    method = method.upper()
    if method in ("HEAD", "GET"):
        if key.permissions not in ("read", "read_write"):
            return _auth_error("The API key provided does not have read permissions.")
    elif method in ("POST", "PUT", "PATCH", "DELETE"):
        if key.permissions not in ("write", "read_write"):
            return _auth_error("The API key provided does not have write permissions.")
    elif method != "OPTIONS":
        return _auth_error("Unknown request method.")
    return None
