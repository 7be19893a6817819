"""Running a started sync off the request thread, so the 勤怠 page can show its progress.

This is the embedded default: a thread in the web process. Runs whose process dies are left to the
heartbeat check; a job queue replaces this for deployments past one machine.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, g
from flask_babel import force_locale, get_locale

from hub.sync.engine import execute_run

log = logging.getLogger(__name__)


def run_in_background(run_id: int) -> threading.Thread | None:
    """Execute the run on a thread of its own (or inline when ``HUB_SYNC_INLINE`` is set, as in tests)."""
    app = current_app._get_current_object()
    if app.config.get("HUB_SYNC_INLINE"):
        execute_run(run_id)
        return None
    # Issue messages are stored in the language of the admin who started the run.
    locale = str(get_locale() or "ja")
    thread = threading.Thread(target=_execute, args=(app, run_id, locale), name=f"sync-run-{run_id}", daemon=True)
    thread.start()
    return thread


def _execute(app: Flask, run_id: int, locale: str) -> None:
    with app.app_context():
        g.sync_run_id = run_id  # Flask-Babel ignores force_locale while g is empty
        with force_locale(locale):
            try:
                execute_run(run_id)
            except Exception:  # execute_run records failures itself; this is the last resort for the log
                log.exception("Background sync run %s crashed", run_id)
