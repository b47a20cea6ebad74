"""Typed settings, read once from the environment and an optional .env file.

A bad value stops the app at start with a message naming the variable, instead of failing later
inside a request or a job.
"""
from __future__ import annotations

import os
import secrets
import stat
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """Raised when a setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_url: AnyHttpUrl = Field("http://127.0.0.1:8000", alias="APP_URL")
    shopify_api_key: str = Field("", alias="SHOPIFY_API_KEY")
    shopify_api_secret: str = Field("", alias="SHOPIFY_API_SECRET")
    # Shopify lets an app rotate its secret; webhooks signed with the previous one stay valid meanwhile.
    shopify_api_secret_old: str = Field("", alias="SHOPIFY_API_SECRET_OLD")
    database_url: str = Field("", alias="DATABASE_URL")
    secret_key: str = Field("", alias="SECRET_KEY")
    encryption_key: str = Field("", alias="ENCRYPTION_KEY")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    instance_path: Path = Field(DEFAULT_INSTANCE, alias="INSTANCE_PATH")
    # Where Shopify traffic goes instead of https://<shop>/ (the dev store of the demo and the tests).
    shopify_fake_url: str = Field("", alias="SHOPIFY_FAKE_URL")
    worker_threads: int = Field(2, alias="WORKER_THREADS", ge=0, le=64)
    webhook_max_bytes: int = Field(5 * 1024 * 1024, alias="WEBHOOK_MAX_BYTES", gt=0)
    # Let the app fetch URLs on private networks (supplier feeds on an intranet). Off by default:
    # merchants type these URLs, and the server must not probe its own network for them.
    allow_private_urls: bool = Field(False, alias="ALLOW_PRIVATE_URLS")
    # Outgoing mail (plugin/notifications/smtp.py): smtp://user:pass@host:port (STARTTLS when offered;
    # ?starttls=required) or smtps:// (TLS from the start). Unset: emails become .eml files in instance/mail/.
    smtp_url: str = Field("", alias="SMTP_URL")
    # The address emails come from (the shop's name is the display name); default no-reply@<APP_URL host>.
    mail_from: str = Field("", alias="MAIL_FROM")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str) -> str:
        if value:
            from plugin.notifications.smtp import parse_smtp_url  # says what is wrong: scheme, host, port

            parse_smtp_url(value)
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_address(cls, value: str) -> str:
        if value and (value.count("@") != 1 or any(ch in value for ch in " <>\"\r\n")):
            raise ValueError("must be a bare address such as backorders@example.com")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value.startswith("postgres://"):
            raise ValueError("use postgresql:// (or postgresql+psycopg://)")
        return value

    @cached_property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.instance_path / 'backorder-desk.sqlite3'}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url

    @property
    def private_urls_allowed(self) -> bool:
        """ALLOW_PRIVATE_URLS, or the app itself runs on this machine (APP_URL on loopback: the
        embedded default and the demo, whose supplier feed the app serves itself)."""
        host = (self.app_url.host or "").strip("[]")
        return self.allow_private_urls or host in ("localhost", "127.0.0.1", "::1")

    @property
    def public_url(self) -> str:
        return str(self.app_url).rstrip("/")

    def ensure_instance(self) -> None:
        self.instance_path.mkdir(parents=True, exist_ok=True)

    def resolved_encryption_keys(self) -> list[str]:
        """Current key first; more keys (comma-separated) still decrypt old rows during rotation.

        In the embedded default no key is configured, so one is generated once into instance/
        with mode 0600 and reused on every start.
        """
        if self.encryption_key:
            return [k.strip() for k in self.encryption_key.split(",") if k.strip()]
        from cryptography.fernet import Fernet

        return [_key_file(self, "encryption.key", lambda: Fernet.generate_key().decode())]

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        return _key_file(self, "secret.key", lambda: secrets.token_urlsafe(48))


def _key_file(settings: Settings, name: str, generate) -> str:
    """A key generated once into instance/<name>, readable by its owner only (mode 0600).

    Written to a private temporary file and linked into place, so a process starting at the same
    moment never reads a half-written key, and the first one to link wins for everyone.
    """
    settings.ensure_instance()
    path = settings.instance_path / name
    if not path.exists():
        tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(generate())
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


# Values of these variables are secrets (or hold one): an error names the variable, never the value.
_SECRET_VARIABLES = {"SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_OLD", "SECRET_KEY", "ENCRYPTION_KEY"}


def _shown_input(name: str, value) -> str:
    if name in _SECRET_VARIABLES:
        return ""
    from plugin.logs import scrub  # a DATABASE_URL may carry a password

    return f" (got {scrub(repr(value))})"


def load_settings(**overrides) -> Settings:
    """Build settings; overrides (by field name) win over the environment. Errors name the variable."""
    try:
        settings = Settings(**{Settings.model_fields[k].alias or k: v for k, v in overrides.items()})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = err["loc"][0] if err["loc"] else "?"
            problems.append(f"{name}: {err['msg']}{_shown_input(str(name), err.get('input'))}")
        raise ConfigError("Invalid configuration: " + "; ".join(problems)) from None
    if settings.encryption_key:
        from cryptography.fernet import Fernet

        for key in settings.resolved_encryption_keys():
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise ConfigError(
                    "Invalid configuration: ENCRYPTION_KEY: each key must be 32 url-safe base64-encoded bytes "
                    "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
                ) from None
    return settings
