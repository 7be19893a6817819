"""Device cookies: a browser an admin has logged in with gets past strangers who spend the account's limit.

OWASP's "Slow down online guessing attacks with device cookies": after a successful login the browser gets a
signed cookie, valid for a year, naming the account (a hash of its email) and a random nonce. A login attempt
that carries a valid one for the email it submits is exempt from the account-wide limit, and its failures
count per device (the nonce) instead of per address, so a stolen cookie guesses no faster than a stranger.

The cookie grants no access by itself, so logging out keeps it (it is what lets the admin in during an attack)
and so does a new password: a browser that logged in with the old one still gets past the account-wide limit,
but must know the new password. Changing ``HUB_SECRET_KEY`` voids every device cookie.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import after_this_request, current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "hub_device"
MAX_AGE = 365 * 24 * 3600
_SALT = "hub-device-cookie"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def remember(email: str) -> None:
    """Give this browser a new device cookie for ``email`` with the response to the current request."""
    value = _serializer().dumps({"account": _account(email), "nonce": secrets.token_urlsafe(16)})

    @after_this_request
    def _set_cookie(response):
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=MAX_AGE,
            path=url_for("auth.login"),  # only the login form reads it
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response


def device(email: str) -> str | None:
    """The nonce of this request's device cookie if it is validly signed, under a year old and for ``email``."""
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return None
    try:
        payload = _serializer().loads(value, max_age=MAX_AGE)
    except BadSignature:  # expired included
        return None
    if not isinstance(payload, dict) or payload.get("account") != _account(email):
        return None
    nonce = payload.get("nonce")
    return nonce if isinstance(nonce, str) and nonce else None
