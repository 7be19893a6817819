"""The provider-agnostic sync engine: fetch → match → validate → write, with a SyncRun for every attempt."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Put the sync's jobs (a run for a worker, the scheduler's tick) on the app's queue."""
    from hub.sync import engine, schedule, tasks

    tasks.register(app, execute_run=engine.execute_run_in_locale, tick=schedule.tick)
