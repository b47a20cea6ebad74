"""How WooCommerce traffic leaves the process: one requests session per thread (keep-alive
connections to the stores), optionally through a mounted adapter that replaces the internet.

`runtime.extras["woocommerce_adapter"]` is that adapter (tests, demos and benchmarks hand every
request to the fake store's WSGI app with connectors.woocommerce.devstore's WSGIAdapter), the
counterpart of the httpx transport the Shopify connector is given.
"""
from __future__ import annotations

import threading
import weakref

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

ADAPTER_KEY = "woocommerce_adapter"


class Sessions:
    """A requests.Session per thread (Session is not documented as thread-safe)."""

    def __init__(self, adapter: BaseAdapter | None = None):
        self.adapter = adapter
        self._local = threading.local()
        # Weak: a session lives as long as its thread (the catalogue's pool threads come and go).
        self._all: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = self.adapter or HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._all.add(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._all = list(self._all), weakref.WeakSet()
        for session in sessions:
            session.close()
