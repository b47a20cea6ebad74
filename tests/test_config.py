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
