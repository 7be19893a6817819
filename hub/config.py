"""Configuration from environment variables, with defaults that serve a newcomer.

With nothing set, the hub runs on SQLite in its instance folder and generates its session secret and
encryption key there once. Production sets ``HUB_SECRET_KEY`` and ``HUB_ENCRYPTION_KEYS`` instead.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"
ENCRYPTION_KEYS_FILE = "encryption_keys"
#: Every environment variable the hub reads (README "Configuration"); tests and benches clear them so a
#: developer's own settings never leak in.
VARIABLES = (
    "DATABASE_URL",
    "HUB_INSTANCE_PATH",
    "HUB_SECRET_KEY",
    "HUB_ENCRYPTION_KEYS",
    "HUB_TIMEZONE",
    "HUB_QUEUE_URL",
    "HUB_HEARTBEAT_TIMEOUT",
    "HUB_SYNC_STALL_SECONDS",
    "HUB_BLOCKED_PLUGINS",
    "HUB_RATELIMIT_STORAGE_URL",
    "HUB_SECURE_COOKIES",
    "HUB_TRUSTED_PROXIES",
    "HUB_SESSION_IDLE_HOURS",
    "HUB_ALLOW_PRIVATE_URLS",
    "HUB_LANGUAGE",
)


class ConfigError(RuntimeError):
    """A configuration value is unusable; the message names the variable."""


def config_from_env(instance_path: Path, env: Mapping[str, str] = os.environ) -> dict:
    """Flask config values read from ``env``; keys and secrets are filled in by :func:`fill_secrets`."""
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'hub.sqlite3'}"
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SECRET_KEY": env.get("HUB_SECRET_KEY") or None,
        "HUB_ENCRYPTION_KEYS": split_keys(env.get("HUB_ENCRYPTION_KEYS", "")),
        "HUB_TIMEZONE": env.get("HUB_TIMEZONE") or "Asia/Tokyo",
        "HUB_QUEUE_URL": env.get("HUB_QUEUE_URL") or None,
        "HUB_HEARTBEAT_TIMEOUT": int(env.get("HUB_HEARTBEAT_TIMEOUT") or 300),
        # A sync retries a failing request until the provider has answered nothing successfully this long.
        "HUB_SYNC_STALL_SECONDS": whole_number(env, "HUB_SYNC_STALL_SECONDS", 180, minimum=1),
        "HUB_BLOCKED_PLUGINS": split_keys(env.get("HUB_BLOCKED_PLUGINS", "")),
        "RATELIMIT_STORAGE_URI": env.get("HUB_RATELIMIT_STORAGE_URL") or "memory://",
        "SESSION_COOKIE_SECURE": env.get("HUB_SECURE_COOKIES", "").lower() in {"1", "true", "yes"},
        # Proxies in front whose X-Forwarded-For/-Proto are believed; with 0 a client cannot pick its address.
        "HUB_TRUSTED_PROXIES": whole_number(env, "HUB_TRUSTED_PROXIES", 0),
        # An admin's session ends after this long without a request (each request renews it).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=whole_number(env, "HUB_SESSION_IDLE_HOURS", 12, minimum=1)),
        # Custom provider URLs may not reach link-local or IPv6 unique-local addresses, nor cloud metadata
        # services, where a server's own cloud credentials can be read (hub.providers.URLPolicy); a hub
        # whose proxy sits at such an address turns that rule off.
        "HUB_ALLOW_PRIVATE_URLS": env.get("HUB_ALLOW_PRIVATE_URLS", "").lower() in {"1", "true", "yes"},
    }


def whole_number(env: Mapping[str, str], variable: str, default: int, minimum: int = 0) -> int:
    """The integer ``variable`` of ``env`` (``default`` when unset), at least ``minimum``."""
    value = env.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ConfigError(f"{variable}: expected a whole number of at least {minimum}, got {value!r}.")
    return int(value)


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the short forms many hosts hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def split_keys(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


def fill_secrets(config: dict, instance_path: Path) -> None:
    """Use the configured secret and keys, or read/generate them in the instance folder."""
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(
            instance_path / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48), "HUB_SECRET_KEY"
        )
    if not config.get("HUB_ENCRYPTION_KEYS"):
        stored = _instance_secret(
            instance_path / ENCRYPTION_KEYS_FILE,
            lambda: Fernet.generate_key().decode(),
            "HUB_ENCRYPTION_KEYS",
        )
        config["HUB_ENCRYPTION_KEYS"] = split_keys(stored)


def check_config(config: Mapping) -> None:
    """Refuse to start on values that would fail later in a less clear way."""
    for position, key in enumerate(config["HUB_ENCRYPTION_KEYS"], start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"HUB_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `hub keys generate`)."
            ) from exc
    try:
        ZoneInfo(config["HUB_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"HUB_TIMEZONE: unknown time zone {config['HUB_TIMEZONE']!r}.") from exc


def _instance_secret(path: Path, generate, variable: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    create_private_file(path, value + "\n")
    log.warning("Generated %s into %s; production should set %s instead.", variable, path, variable)
    return value


def create_private_file(path: Path, content: str = "") -> bool:
    """Create ``path`` readable and writable by its owner only (0600); False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return True


def create_private_database(database_url: str, instance_path: Path) -> None:
    """Create a new SQLite database file 0600 before SQLite would create it 0644 (umask permitting).

    SQLite gives its -wal, -shm and -journal files the mode of the database file, so they follow.
    An empty file is a valid empty database. Other databases, in-memory ones and URI filenames are left alone.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return
    path = Path(url.database)
    if not path.is_absolute():  # Flask-SQLAlchemy resolves it in the instance folder
        path = instance_path / path
    if not path.parent.is_dir():  # SQLite reports the missing folder itself
        return
    if not create_private_file(path) and path.stat().st_mode & 0o007:
        log.warning("%s is readable by other users of this machine: chmod 600 it (and its -wal and -shm).", path)
