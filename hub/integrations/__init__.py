"""管理 › 外部連携: integrations with attendance providers."""

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.integrations.views import bp

    app.register_blueprint(bp)
