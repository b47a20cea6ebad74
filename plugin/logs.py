"""Structured (JSON line) logs with secrets scrubbed before they are written anywhere."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

# Header, parameter and field names whose values are secrets wherever they appear; a name may carry
# a suffix (SHOPIFY_API_SECRET_OLD, secret_key).
_SECRET_NAMES = (
    "access_token|refresh_token|client_secret|api_secret|secret|password|passwd|subject_token|id_token|"
    "session_token|x-shopify-access-token|x-shopify-hmac-sha256|x-wc-webhook-signature|authorization|"
    "consumer_secret|encryption_key|hmac|signature"
)
# An optional quote, plain or backslash-escaped: a JSON line escapes the quotes of a message that
# itself holds JSON, and Python reprs (exception messages) use single quotes.
_Q = r"(?:\\?[\"'])?"
_VALUE = r"([^\"'&\s,;}\\]+)"
_KV = re.compile(rf"(?i)((?:{_SECRET_NAMES})[\w-]*{_Q}\s*[:=]\s*{_Q}(?:(?:bearer|basic|token)\s+)?){_VALUE}")
# OAuth's authorization code travels as a query or form parameter. Only that form is scrubbed: a
# `"code": "invalid_grant"` field of our own logs is a diagnosis, not a secret.
_CODE_PARAM = re.compile(rf"(?i)((?<![\w-])code=){_VALUE}")
# The password of a URL (DATABASE_URL, a supplier feed): scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@\"']*:)([^@\s/\"']+)(@)")
_SHOPIFY_TOKEN = re.compile(r"shp(?:at|ua|ca|ss|rt)_[0-9A-Za-z]+")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def scrub(text: str) -> str:
    text = _KV.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _CODE_PARAM.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + "[redacted]" + m.group(3), text)
    text = _SHOPIFY_TOKEN.sub("[redacted-token]", text)
    return _JWT.sub("[redacted-jwt]", text)


class JsonFormatter(logging.Formatter):
    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, default=str))


class _ScrubMessage(logging.Filter):
    """Scrubs a record's message in place, whatever handler writes it (gunicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


# gunicorn's loggers do not propagate to the root logger and write plain text. An access line holds
# the request's URL, which carries secrets: the OAuth callback's `code` and `hmac`, and the session
# token (`id_token`) Shopify puts on every embedded app load.
_GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    _adopt_gunicorn_loggers()
    if any(getattr(h, "_backorder_desk", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._backorder_desk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs full URLs at INFO; keep it quiet unless debugging.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _adopt_gunicorn_loggers() -> None:
    """In a gunicorn worker (where the app is built), gunicorn's handlers write our JSON lines too."""
    formatter = JsonFormatter()
    for name in _GUNICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubMessage) for f in logger.filters):
            logger.addFilter(_ScrubMessage())
        for handler in logger.handlers:
            handler.setFormatter(formatter)
