"""基本設定 › タイムシート設定."""

from flask import Flask

from hub.settings.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
