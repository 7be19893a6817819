"""タイムシート: a member's month of attendance beside the man-hours (工数) they booked."""

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.timesheets.views import bp, reports

    app.register_blueprint(bp)
    app.register_blueprint(reports)
