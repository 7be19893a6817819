"""Login, logout and first-admin setup pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from hub.auth import devices
from hub.auth.accounts import authenticate, create_admin, has_admin, setup_token_valid
from hub.auth.forms import FirstAdminForm, LoginForm
from hub.extensions import client_network, db, limiter
from hub.models import User, utcnow
from hub.security import is_safe_next

bp = Blueprint("auth", __name__)


def _login_failed(response) -> bool:
    return bool(g.get("login_failed"))


def _submitted_account() -> str:
    return request.form.get("email", "").strip().lower()


def _account_at_client() -> str:
    """Per account and device with a valid device cookie (from any address), else per account and address."""
    nonce = devices.device(_submitted_account())
    if nonce:
        return f"login-account-device:{_submitted_account()}|{nonce}"
    return f"login-account-client:{_submitted_account()}|{client_network()}"


def _account() -> str:
    return f"login-account:{_submitted_account()}"


def _known_device() -> bool:
    return devices.device(_submitted_account()) is not None


def is_account_limit(limit) -> bool:
    """Whether a refused login hit the account-wide limit, which a known browser (device cookie) gets past."""
    return limit.key_func is _account


def _config(key: str):
    return lambda: current_app.config[key]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config("HUB_LOGIN_LIMITS"), methods=["POST"], deduct_when=_login_failed, key_func=_account_at_client)
@limiter.limit(_config("HUB_LOGIN_ADDRESS_LIMITS"), methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    _config("HUB_LOGIN_ACCOUNT_LIMITS"),
    methods=["POST"],
    deduct_when=_login_failed,
    key_func=_account,
    exempt_when=_known_device,
)
def login():
    """Show the login form and sign an admin in; only failed attempts count towards the limits (see app.py),
    and a browser with the account's device cookie is exempt from the account-wide one (hub.auth.devices)."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            _sign_in(user)
            user.last_login_at = utcnow()
            db.session.commit()
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("home.index"))
        g.login_failed = True
        flash(_("The email address or password is wrong."), "error")
    return render_template("auth/login.html", form=form, has_admin=has_admin())


def _sign_in(user: User) -> None:
    login_user(user)
    devices.remember(user.email)
    # Permanent, so that each request renews the cookie: the session ends after PERMANENT_SESSION_LIFETIME idle.
    session.permanent = True


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out, here and in every other browser of this admin, and return to the login page.

    The device cookie stays: it is what lets this browser in while strangers spend the account-wide limit."""
    if current_user.is_authenticated:
        # A copy of this session's cookie stays validly signed; only a new session version makes it useless.
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin through the one-time link `hub run` prints; gone once an admin exists."""
    if has_admin() or current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    token = request.args.get("token")
    if not setup_token_valid(token):
        abort(
            403,
            description=_(
                "This setup link is invalid or has expired. Restart the hub (make run or hub run) to get a new one."
            ),
        )
    form = FirstAdminForm()
    if form.validate_on_submit():
        user = create_admin(form.email.data, form.password.data)
        db.session.commit()
        _sign_in(user)
        flash(_("Welcome! Your admin account %(email)s is ready.", email=user.email), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/setup.html", form=form)
