"""Shopify facts from manifest.json, the app's single source of truth (API version, scopes, topics)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.json"


@lru_cache(maxsize=1)
def manifest() -> dict:
    return json.loads(MANIFEST_PATH.read_text())


def shopify_manifest() -> dict:
    return manifest()["shopify"]


def api_version() -> str:
    return shopify_manifest()["api_version"]
