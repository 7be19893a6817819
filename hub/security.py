"""Security headers, the login requirement on every page, plain query strings, bounded ids in URLs, safe
redirects, and proxies.

Behind ``HUB_TRUSTED_PROXIES`` proxies, the client's address and scheme come from their forwarded headers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from hub.characters import control_character
from hub.extensions import login_manager

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)

#: Endpoints a visitor without a session may reach; everything else, plugins' pages included, needs login.
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "auth.setup", "static", "health.healthz"}


#: The largest id a URL may carry: the databases' integer columns end here, and a bigger number is a 404.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route, plugins' included: ids past the integer column's range are a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    # Before any blueprint adds its rules: each rule takes its converter from the map when it is added.
    app.url_map.converters["int"] = BoundedIntConverter
    proxies = app.config["HUB_TRUSTED_PROXIES"]
    if proxies:
        # The client address (login throttling keys on it) and scheme as the last `proxies` hops saw them.
        # Without proxies the headers are ignored: anyone can write them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.before_request(_refuse_control_characters)
    app.before_request(_require_login)
    app.after_request(_set_security_headers)


def _refuse_control_characters():
    """400 for a query string with a control character (``?q=a%00b``): no page's search or filter takes one,
    and a NUL in a PostgreSQL query is a server error. Forms check their own fields (hub.forms.HubForm)."""
    for name, value in request.args.items(multi=True):
        if control_character(name) is not None or control_character(value) is not None:
            abort(400, description=_("The link (URL) contains a control character (such as NUL). Check the link."))
    return None


def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        # Pages carry personal data: keep them out of shared and back-button caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def is_safe_next(target: str | None) -> bool:
    """Whether ``target`` is a path on this site (no scheme, no host, no protocol-relative ``//``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(ch) < 32 for ch in target)
