"""Language and time zone: Japanese by default, English on request (Accept-Language or ?lang=)."""

from __future__ import annotations

import os
from urllib.parse import quote, urlencode

from flask import Flask, current_app, g, has_request_context, request, session, url_for
from flask_babel import get_locale

from hub.extensions import babel
from hub.models import Settings

LANGUAGES = {"ja": "日本語", "en": "English"}
DEFAULT_LANGUAGE = "ja"
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.before_request(_remember_language_choice)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=lambda: str(get_locale()), language_url=language_url)


def language_url(code: str) -> str:
    """This page in another language, keeping its query (a setup token, ``next``).

    Built from the request's own path and query string, never as ``url_for`` arguments: a query argument
    named like a view argument or ``_external`` must not change where the link points.
    """
    if request.endpoint is None or request.endpoint == "static":
        return url_for("auth.login", lang=code)  # a 404's path is the visitor's text: never echo it
    args = request.args.copy()
    args["lang"] = code
    # One leading slash, so a path like //host/x cannot become a protocol-relative link.
    path = request.script_root + "/" + request.path.lstrip("/")
    return f"{quote(path, safe=_PATH_SAFE)}?{urlencode(list(args.items(multi=True)))}"


def select_locale() -> str:
    if not has_request_context():
        return cli_language()
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def select_timezone() -> str:
    if "hub_timezone" not in g:
        g.hub_timezone = Settings.company_timezone(current_app.config["HUB_TIMEZONE"])
    return g.hub_timezone


def _remember_language_choice():
    choice = request.args.get("lang")
    if choice in LANGUAGES:
        session["lang"] = choice


def cli_language() -> str:
    """Language for messages outside a web request: HUB_LANGUAGE, else ja when LANG is Japanese."""
    chosen = os.environ.get("HUB_LANGUAGE", "")
    if chosen in LANGUAGES:
        return chosen
    return "ja" if os.environ.get("LANG", "").startswith("ja") else "en"
