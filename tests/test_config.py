"""Settings are validated at start, and a bad value names its variable."""
import os
import stat

import pytest

from plugin.config import ConfigError, load_settings
from plugin.logs import scrub


def test_bad_values_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(database_url="mysql://nope", instance_path=tmp_path)
    with pytest.raises(ConfigError, match="APP_URL"):
        load_settings(app_url="not a url", instance_path=tmp_path)
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings(log_level="LOUD", instance_path=tmp_path)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY"):
        load_settings(encryption_key="short", instance_path=tmp_path)


def test_environment_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_URL", "https://backorders.example.com/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    settings = load_settings(instance_path=tmp_path)
    assert settings.public_url == "https://backorders.example.com"
    assert settings.log_level == "DEBUG"
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@db/x"


def test_embedded_defaults_generate_keys_once_with_private_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(instance_path=tmp_path)
    keys = settings.resolved_encryption_keys()
    assert keys == load_settings(instance_path=tmp_path).resolved_encryption_keys()
    mode = stat.S_IMODE(os.stat(tmp_path / "encryption.key").st_mode)
    assert mode == 0o600
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'backorder-desk.sqlite3'}"


def test_logs_never_carry_secrets():
    line = scrub('{"X-Shopify-Access-Token": "shpat_abc123", "refresh_token": "shprt_zz", "msg": "ok"}')
    assert "shpat_abc123" not in line and "shprt_zz" not in line and '"msg": "ok"' in line
    assert "eyJ" not in scrub("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl used")
    assert "s3cret" not in scrub("client_secret=s3cret&shop=x")


def test_private_urls_are_allowed_only_on_this_machine_or_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("ALLOW_PRIVATE_URLS", raising=False)
    assert load_settings(app_url="http://127.0.0.1:8000", instance_path=tmp_path).private_urls_allowed
    assert load_settings(app_url="http://localhost:8000", instance_path=tmp_path).private_urls_allowed
    public = load_settings(app_url="https://backorders.example.com", instance_path=tmp_path)
    assert not public.private_urls_allowed
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")
    assert load_settings(app_url="https://backorders.example.com", instance_path=tmp_path).private_urls_allowed


def test_a_bad_value_never_echoes_a_secret(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL") as bad_url:
        load_settings(database_url="postgres://app:hunter2@db/backorders", instance_path=tmp_path)
    assert "hunter2" not in str(bad_url.value) and "app:[redacted]@db" in str(bad_url.value)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY") as bad_key:
        load_settings(encryption_key="my-precious-key", instance_path=tmp_path)
    assert "my-precious-key" not in str(bad_key.value)


def test_generated_keys_survive_a_concurrent_start(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = [load_settings(instance_path=tmp_path) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda s: (s.resolved_encryption_keys()[0], s.resolved_secret_key()), settings))
    assert len(set(keys)) == 1 and all(keys[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encryption.key", "secret.key"]  # no temporary files left
    assert stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode) == 0o600


@pytest.mark.parametrize("text, secret", [
    ('{"msg": "got {\\"access_token\\": \\"abc123\\"}"}', "abc123"),  # JSON inside a JSON line
    ("{'client_secret': 'abc123'}", "abc123"),  # a Python repr in an exception message
    ("Authorization: Bearer abc123", "abc123"),
    ("SHOPIFY_API_SECRET_OLD=abc123", "abc123"),
    ("postgresql://app:abc123@db/backorders", "abc123"),
    ("GET /auth/shopify/callback?code=abc123&hmac=def456&shop=x.myshopify.com", "abc123"),
    ("GET /auth/shopify/callback?code=abc123&hmac=def456&shop=x.myshopify.com", "def456"),
])
def test_secrets_are_scrubbed_in_every_spelling(text, secret):
    assert secret not in scrub(text)


def test_scrubbing_keeps_what_is_not_a_secret():
    assert scrub('{"code": "invalid_grant", "shop": "x.myshopify.com"}') == '{"code": "invalid_grant", "shop": "x.myshopify.com"}'
    assert scrub("https://supplier.example/feed.csv?page=2") == "https://supplier.example/feed.csv?page=2"


def test_gunicorn_access_lines_are_json_without_secrets():
    """The embedded server logs every request line; Shopify puts the session token in the app URL."""
    import io
    import json
    import logging

    from plugin.logs import configure_logging

    access = logging.getLogger("gunicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # as gunicorn's own setup adds it, before the app is built
    access.addHandler(handler)
    saved_filters = list(access.filters)
    try:
        configure_logging("INFO")
        configure_logging("INFO")  # idempotent
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJkZXN0IjoiaHR0cHM6Ly94In0.c2lnbmF0dXJl"
        access.info('%(h)s "%(r)s" %(s)s', {"h": "127.0.0.1", "s": "200",
                                             "r": f"GET /admin?embedded=1&shop=x.myshopify.com&id_token={jwt} HTTP/1.1"})
        access.info('%(h)s "%(r)s" %(s)s', {"h": "127.0.0.1", "s": "302",
                                             "r": "GET /auth/shopify/callback?code=0a1b2c3d&hmac=9f8e7d&state=s HTTP/1.1"})
    finally:
        access.removeHandler(handler)
        access.filters[:] = saved_filters
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["gunicorn.access"] * 2
    written = stream.getvalue()
    for secret in (jwt, "0a1b2c3d", "9f8e7d"):
        assert secret not in written
    assert "shop=x.myshopify.com" in lines[0]["msg"]


def test_a_new_process_has_its_mappers_set_up_once_the_runtime_is_built(tmp_path):
    """configure_mappers at start: a mapping error stops the process there, and the first job or
    page of a worker does not set them up. A child process: this one has long set them up."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "from plugin.config import load_settings\n"
        "from plugin.db.models import Base\n"
        "mappers = list(Base.registry.mappers)\n"
        "assert mappers and not any(m.configured for m in mappers), 'configured before the runtime'\n"
        "from plugin.runtime import build_runtime\n"
        f"runtime = build_runtime(load_settings(instance_path={str(tmp_path / 'instance')!r}, "
        f"database_url={'sqlite:///' + str(tmp_path / 'app.db')!r}))\n"
        "assert all(m.configured for m in Base.registry.mappers)\n"
        "runtime.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
