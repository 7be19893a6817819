"""管理 › 勤怠: run a sync, watch it, read its result, and the history of runs."""

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.attendance.views import bp

    app.register_blueprint(bp)
