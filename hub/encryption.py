"""Secrets at rest: encrypted with MultiFernet under ``HUB_ENCRYPTION_KEYS`` (newest key first)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app


class SecretDecryptError(RuntimeError):
    """A stored secret cannot be read with any configured key."""


class SecretBox:
    """Encrypts a mapping of secrets into one token and back; rotates tokens to the newest key."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, values: Mapping[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(dict(values), sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretDecryptError(
                "A stored secret cannot be decrypted with HUB_ENCRYPTION_KEYS: "
                "was a key removed before `hub keys rotate` ran?"
            ) from exc

    def rotate(self, token: str) -> str:
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptError("A stored secret cannot be decrypted with HUB_ENCRYPTION_KEYS.") from exc

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"


def init_app(app: Flask) -> None:
    app.extensions["hub.secrets"] = SecretBox(app.config["HUB_ENCRYPTION_KEYS"])


def secret_box() -> SecretBox:
    return current_app.extensions["hub.secrets"]
