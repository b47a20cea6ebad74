"""What a process needs to do work, with or without Flask: settings, database, connectors.

The web app, the worker threads, the scheduler and the CLI all build one `Runtime`; nothing reads
globals, so tests can run several isolated runtimes side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import configure_mappers

from plugin.config import Settings, load_settings
from plugin.crypto import Vault, install_vault
from plugin.db import Database
from plugin.logs import configure_logging


@dataclass
class Runtime:
    settings: Settings
    db: Database
    # An httpx transport that carries all Shopify traffic (None: the real internet).
    shopify_transport: httpx.BaseTransport | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _connectors: dict[str, Any] = field(default_factory=dict)

    def connector(self, platform: str):
        if platform not in self._connectors:
            from connectors.registry import build_connector

            self._connectors[platform] = build_connector(platform, self)
        return self._connectors[platform]

    def close(self) -> None:
        for conn in self._connectors.values():
            close = getattr(conn, "close", None)
            if close:
                close()
        self.db.dispose()


def build_runtime(settings: Settings | None = None, *, shopify_transport: httpx.BaseTransport | None = None,
                  **engine_kwargs) -> Runtime:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    settings.ensure_instance()
    install_vault(Vault(settings.resolved_encryption_keys()))
    # The ORM's mappers are set up now, not by whichever request or job first touches a model:
    # a mapping error stops the process at start, and the first recompute or admin page of a
    # new worker does not pay the 20-50 ms.
    configure_mappers()
    return Runtime(settings=settings, db=Database(settings.sqlalchemy_url, **engine_kwargs),
                   shopify_transport=shopify_transport)
