"""管理 › メンバー: list, search, add, edit, end and CSV import."""

from flask import Flask

from hub.members.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
