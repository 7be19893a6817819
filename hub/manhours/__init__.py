"""工数: projects and the man-hours members book on them."""

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.manhours.views import bp

    app.register_blueprint(bp)
