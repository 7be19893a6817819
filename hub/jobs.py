"""The job queue (Huey) that syncs, the daily 自動同期 and the reaping of dead runs are queued on.

Areas register their tasks on it (the sync's are :mod:`hub.sync.tasks`). The queue is SqliteHuey in the
instance folder by default, RedisHuey for ``HUB_QUEUE_URL=redis://…`` and PostgresHuey for
``HUB_QUEUE_URL=postgresql://…``. Tests use Huey's immediate mode.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from huey import PostgresHuey, RedisHuey, SqliteHuey
from huey.api import Huey

from hub.config import create_private_file

QUEUE_NAME = "kintai-hub"


def make_huey(url: str | None, instance_path: str, immediate: bool = False) -> Huey:
    """The queue named by ``url`` (unset: a SQLite file in the instance folder)."""
    if not url:
        filename = Path(instance_path) / "huey.sqlite3"
        create_private_file(filename)  # before SQLite creates it world-readable
        return SqliteHuey(QUEUE_NAME, filename=str(filename), immediate=immediate)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, immediate=immediate)
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(QUEUE_NAME, dsn=dsn, immediate=immediate)
    raise ValueError(f"HUB_QUEUE_URL: use redis://… or postgresql://… (got {url.split('://')[0]}://…)")


def init_app(app: Flask) -> None:
    huey = make_huey(app.config["HUB_QUEUE_URL"], app.instance_path, immediate=app.config["HUB_QUEUE_IMMEDIATE"])
    app.extensions["hub.huey"] = huey


def queue(app: Flask | None = None) -> Huey:
    return (app or current_app).extensions["hub.huey"]
