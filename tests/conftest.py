"""Shared fixtures. Every test that touches the database runs twice: on SQLite and on PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 with trust auth (TEST_POSTGRES_URL overrides). The suite
creates its own throwaway database and fails loudly - never skips - when the server is unreachable.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from plugin.config import load_settings
from plugin.db.migrate import upgrade
from plugin.db.models import Base

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef0123"
OLD_API_SECRET = "test-old-api-secret-0123456789abcdef"


def _pg(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh, migrated database for this test session; dropped at the end."""
    name = f"backorder_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = psycopg.connect(_pg(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {exc}. The suite needs it.", pytrace=False)
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = _pg(POSTGRES_ADMIN_URL).rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    upgrade(url)
    yield url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate once; each test gets a copy (much faster than migrating per test)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings_factory(tmp_path):
    key = Fernet.generate_key().decode()

    def make(database_url: str, **overrides):
        values = dict(
            app_url="https://app.example.test",
            shopify_api_key=API_KEY,
            shopify_api_secret=API_SECRET,
            shopify_api_secret_old=OLD_API_SECRET,
            database_url=database_url,
            secret_key="test-secret-key",
            encryption_key=key,
            instance_path=tmp_path / "instance",
            log_level="INFO",
            worker_threads=0,
            # The tests' supplier feeds are servers on 127.0.0.1 (test_supplier_fetch checks the guard).
            allow_private_urls=True,
        )
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback that records what it accepts."""
    from tests.support.smtp_sink import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_shopify():
    """Shopify as the app sees it: a faithful in-memory store reached through httpx's WSGI transport."""
    from connectors.shopify.devstore import FakeShopify

    return FakeShopify(API_KEY, API_SECRET)


@pytest.fixture
def runtime(database_url, settings_factory, fake_shopify):
    from plugin.runtime import build_runtime

    rt = build_runtime(settings_factory(database_url),
                       shopify_transport=httpx.WSGITransport(app=fake_shopify.wsgi_app))
    yield rt
    rt.close()


@pytest.fixture
def app(runtime, fake_shopify):
    from plugin.app import create_app

    flask_app = create_app(runtime)
    flask_app.testing = True
    client = flask_app.test_client()

    def deliver(url: str, headers: dict, body: bytes) -> int:
        path = httpx.URL(url).path
        return client.post(path, data=body, headers=headers).status_code

    fake_shopify.deliver = deliver
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()
