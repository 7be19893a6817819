"""Error pages that say what happened in the admin's language, without internals."""

from __future__ import annotations

from flask import Flask, flash, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hub.extensions import db


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(429, _too_many_requests)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _server_error)


def _csrf_error(error: CSRFError):
    message = _("The form expired or was sent from another site. Reload the page and try again.")
    return render_template("error.html", code=400, message=message), 400


def _too_many_requests(error):
    if request.endpoint == "auth.login":
        from hub.auth.accounts import has_admin
        from hub.auth.forms import LoginForm
        from hub.auth.views import is_account_limit

        minutes = error.limit.limit.get_expiry() // 60  # the window of the limit reached: the longest wait
        if is_account_limit(error.limit):
            message = _(
                "Too many failed logins for this account. A browser you have logged in with before still gets in; "
                "from any other, wait up to %(minutes)d minutes.",
                minutes=minutes,
            )
        else:
            message = _("Too many failed logins. Wait up to %(minutes)d minutes and try again.", minutes=minutes)
        flash(message, "error")
        return render_template("auth/login.html", form=LoginForm(), has_admin=has_admin()), 429
    return render_template("error.html", code=429, message=_("Too many requests. Try again later.")), 429


def _server_error(error):
    db.session.rollback()  # the page below reads the session; a failed flush must not break it too
    message = _("Something went wrong on the server. Nothing was saved; try again or tell your administrator.")
    return render_template("error.html", code=500, message=message), 500


def _http_error(error: HTTPException):
    messages = {
        403: _("You may not open this page."),
        404: _("This page does not exist."),
        405: _("This page does not accept that kind of request."),
        413: _("The file is too large."),
    }
    custom = error.description != type(error).description
    # A 400 or 403 the hub raised with its own description says what was wrong; it is written for the admin.
    message = error.description if error.code in (400, 403) and custom else messages.get(error.code)
    return render_template("error.html", code=error.code, message=message or error.name), error.code
