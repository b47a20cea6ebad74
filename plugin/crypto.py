"""Encryption of credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256), with key rotation."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Vault:
    """Encrypts and decrypts short secrets; the first key encrypts, every key decrypts."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("credential cannot be decrypted with the configured ENCRYPTION_KEY") from None


_vault: Vault | None = None


def install_vault(vault: Vault) -> None:
    """The encrypted column type needs the process's vault; the app factory installs it once."""
    global _vault
    _vault = vault


def current_vault() -> Vault:
    if _vault is None:
        raise RuntimeError("no encryption vault installed; create the app (plugin.app.create_app) first")
    return _vault
