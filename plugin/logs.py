"""Structured (JSON line) logs with secrets scrubbed before they are written anywhere."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

# Header, parameter and field names whose values are secrets wherever they appear.
_SECRET_NAMES = (
    "access_token|refresh_token|client_secret|api_secret|secret|password|subject_token|id_token|"
    "x-shopify-access-token|x-shopify-hmac-sha256|x-wc-webhook-signature|authorization|consumer_secret|hmac|code"
)
_KV = re.compile(rf"(?i)(\"?(?:{_SECRET_NAMES})\"?\s*[:=]\s*\"?)([^\"&\s,}}]+)")
_SHOPIFY_TOKEN = re.compile(r"shp(?:at|ua|ca|ss|rt)_[0-9A-Za-z]+")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def scrub(text: str) -> str:
    text = _KV.sub(lambda m: m.group(1) + "[redacted]", text)
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


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
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
