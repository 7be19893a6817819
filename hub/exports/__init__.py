"""エクスポート: attendance days streamed through an exporter plugin (web page, ``hub export``, audit)."""

from flask import Flask

from hub.exporters import ExportDay
from hub.exports.query import ExportFilter

__all__ = ["ExportDay", "ExportFilter", "init_app"]


def init_app(app: Flask) -> None:
    from hub.exports.views import bp

    app.register_blueprint(bp)
