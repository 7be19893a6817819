"""ホーム: where an admin lands after logging in."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Integration, Member

bp = Blueprint("home", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/")
def index():
    """Show what is set up so far and where to go next."""
    members = db.session.scalar(select(func.count(Member.id)))
    integrations = db.session.scalar(select(func.count(Integration.id)))
    return render_template("home.html", members=members, integrations=integrations)
