"""Background jobs on Huey: manual syncs, the daily 自動同期, and reaping runs whose worker died.

The queue is SqliteHuey in the instance folder by default, RedisHuey for ``HUB_QUEUE_URL=redis://…`` and
PostgresHuey for ``HUB_QUEUE_URL=postgresql://…``. Tests use Huey's immediate mode.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app
from huey import PostgresHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey

log = logging.getLogger(__name__)

QUEUE_NAME = "kintai-hub"


def make_huey(url: str | None, instance_path: str, immediate: bool = False) -> Huey:
    """The queue named by ``url`` (unset: a SQLite file in the instance folder)."""
    if not url:
        return SqliteHuey(QUEUE_NAME, filename=str(Path(instance_path) / "huey.sqlite3"), immediate=immediate)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, immediate=immediate)
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(QUEUE_NAME, dsn=dsn, immediate=immediate)
    raise ValueError(f"HUB_QUEUE_URL: use redis://… or postgresql://… (got {url.split('://')[0]}://…)")


def init_app(app: Flask) -> None:
    huey = make_huey(app.config["HUB_QUEUE_URL"], app.instance_path, immediate=app.config["HUB_QUEUE_IMMEDIATE"])
    _register_tasks(huey, app)
    app.extensions["hub.huey"] = huey


def queue(app: Flask | None = None) -> Huey:
    return (app or current_app).extensions["hub.huey"]


def _register_tasks(huey: Huey, app: Flask) -> None:
    """Tasks run inside an app context of the process that consumes them."""

    @huey.task(name="hub.sync_run")
    def sync_run(run_id: int, locale: str = "ja") -> None:
        from hub.sync.engine import execute_run_in_locale

        with app.app_context():
            execute_run_in_locale(run_id, locale)

    @huey.periodic_task(crontab(minute="*"), name="hub.scheduler_tick")
    def scheduler_tick() -> None:
        from hub.sync.schedule import tick

        with app.app_context():
            tick()

    app.extensions["hub.tasks"] = {"sync_run": sync_run, "scheduler_tick": scheduler_tick}


def enqueue_run(run_id: int, locale: str = "ja") -> None:
    """Hand a started (queued) run to a worker."""
    current_app.extensions["hub.tasks"]["sync_run"](run_id, locale)
