"""/healthz for load balancers: database and queue reachable; no login, no secrets, no details."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify
from sqlalchemy import text

from hub.extensions import db
from hub.jobs import queue

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/healthz")
def healthz():
    """200 when the database and the queue answer, 503 otherwise."""
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1")).scalar_one()),
        "queue": _check(lambda: queue().pending_count()),
    }
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means unhealthy; the log has the reason, the answer does not
        log.warning("Health check failed: %s", type(exc).__name__)
        db.session.rollback()
        return "unavailable"
    return "ok"
