"""Creating admins and the one-time link that lets a newcomer create the first one."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from hub import audit
from hub.auth.passwords import password_problem
from hub.extensions import db
from hub.models import User

SETUP_TOKEN_MAX_AGE = 24 * 3600
_SETUP_SALT = "hub-first-admin"


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password", method="scrypt")


class AccountError(ValueError):
    """An admin account cannot be created as asked; the message says why."""


def has_admin() -> bool:
    return db.session.scalar(select(func.count(User.id))) > 0


def authenticate(email: str, password: str) -> User | None:
    """The active admin with these credentials; as slow for an unknown email as for a wrong password."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) and user.active else None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_admin(email: str, password: str, *, reset: bool = False) -> User:
    """Create an admin (or, with ``reset``, set an existing admin's password) and audit it."""
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"Not a valid email address: {exc}") from exc
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    user = find_user(email)
    if user is not None and not reset:
        raise AccountError(f"{email} already exists (use --reset to set a new password).")
    if user is None:
        user = User(email=email)
        db.session.add(user)
    user.set_password(password)
    user.active = True
    db.session.flush()
    audit.record("admin.password_reset" if reset else "admin.create", target=email)
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SETUP_SALT)


def issue_setup_token() -> str:
    """A signed token for the first-admin page; useless once any admin exists or after a day."""
    return _serializer().dumps("first-admin")


def setup_token_valid(token: str | None) -> bool:
    if not token or has_admin():
        return False
    try:
        return _serializer().loads(token, max_age=SETUP_TOKEN_MAX_AGE) == "first-admin"
    except BadSignature:
        return False
