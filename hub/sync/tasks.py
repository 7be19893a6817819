"""The sync's jobs on the queue: a started run handed to a worker, and the scheduler's tick every minute.

Tasks run inside an app context of the process that consumes them (``hub worker``, or ``hub run``'s own
consumer). The queue itself is :mod:`hub.jobs`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_babel import get_locale
from huey import crontab

from hub.jobs import queue

#: Huey names a queued task "<the function's module>.<name>" and writes that into the queue. The tasks were first
#: registered from hub.jobs; they keep that name so a run queued before an upgrade is found by the new worker.
QUEUED_AS = "hub.jobs"


def register(app: Flask, execute_run: Callable[[int, str], object], tick: Callable[[], object]) -> None:
    """Register the sync's tasks on the app's queue: ``execute_run(run_id, locale)`` for a run handed to a
    worker, ``tick()`` every minute for the schedule."""
    huey = queue(app)

    def sync_run(run_id: int, locale: str = "ja") -> None:
        with app.app_context():
            execute_run(run_id, locale)

    def scheduler_tick() -> None:
        with app.app_context():
            tick()

    sync_run.__module__ = scheduler_tick.__module__ = QUEUED_AS
    app.extensions["hub.tasks"] = {
        "sync_run": huey.task(name="hub.sync_run")(sync_run),
        "scheduler_tick": huey.periodic_task(crontab(minute="*"), name="hub.scheduler_tick")(scheduler_tick),
    }


def enqueue_run(run_id: int, locale: str = "ja") -> None:
    """Hand a started (queued) run to a worker; issue messages are written in ``locale``."""
    current_app.extensions["hub.tasks"]["sync_run"](run_id, locale)


def run_in_background(run_id: int) -> None:
    """Queue the run for a worker; issue messages are stored in the language of the admin who started it."""
    enqueue_run(run_id, str(get_locale() or "ja"))
