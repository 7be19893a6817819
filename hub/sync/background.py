"""Handing a started sync to the job queue, so the 勤怠 page can show its progress while a worker runs it."""

from __future__ import annotations

from flask_babel import get_locale

from hub.jobs import enqueue_run


def run_in_background(run_id: int) -> None:
    """Queue the run for a worker; issue messages are stored in the language of the admin who started it."""
    enqueue_run(run_id, str(get_locale() or "ja"))
