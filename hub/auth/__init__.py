"""Admin login: Flask-Login sessions, throttled attempts, and the first admin's one-time setup link."""

from flask import Flask

from hub.auth.views import bp
from hub.extensions import login_manager
from hub.models import User


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself says what to do
    app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    return User.for_session(token)
