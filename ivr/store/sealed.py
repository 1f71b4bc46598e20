"""Callback numbers encrypted at rest: Fernet keys from IVR_DATA_KEY, newest first, so keys can rotate."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "Sealer", "parse_keys"]


def parse_keys(text: str) -> list[bytes]:
    """The comma-separated keys; ValueError naming which one is not a Fernet key."""
    keys = [part.strip().encode("ascii") for part in text.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given")
    for index, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as error:
            raise ValueError(f"key {index} is not a Fernet key (32 url-safe base64 bytes)") from error
    return keys


class Sealer:
    """Encrypts with the newest key, decrypts with any of them (MultiFernet)."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, text: str) -> str:
        """The ciphertext (a url-safe token) of a text."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, token: str, ttl_s: int | None = None) -> str:
        """The text of a token; InvalidToken when no key opens it (or it is older than ttl_s)."""
        return self._fernet.decrypt(token.encode("ascii"), ttl=ttl_s).decode("utf-8")
