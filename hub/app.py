"""The application factory."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask


def package_dir(package: str) -> str:
    """Where an installed (or editable) data package such as ``hub.templates`` lives on disk."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is missing: reinstall kintai-hub (`pip install .`).")
    return next(iter(spec.submodule_search_locations))


def create_app(test_config: Mapping[str, Any] | None = None, plugins: Iterable[object] = ()) -> Flask:
    """Build the hub: config from the environment (or ``test_config``), extensions, plugins, views.

    ``plugins`` are registered beside the installed ones, before ``hub_init_app`` runs.
    """
    from hub import encryption, i18n, jobs, security
    from hub.config import check_config, config_from_env, create_private_database, fill_secrets
    from hub.extensions import csrf, db, limiter, login_manager, migrate
    from hub.plugins import exporters, get_plugin_manager, nav_links, providers

    instance_path = os.environ.get("HUB_INSTANCE_PATH") or None
    app = Flask(
        "hub",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=package_dir("hub.templates"),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    app.config.from_mapping(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Failed logins only, by client address (an IPv6 client's /64; HUB_TRUSTED_PROXIES behind a proxy): few
        # for one account from one address (or one device cookie), more from one address over all accounts
        # (colleagues behind one office address), many for one account from everywhere, which a browser with
        # the account's device cookie is exempt from (hub.auth.devices). See docs/security.md.
        HUB_LOGIN_LIMITS="5 per 15 minutes",
        HUB_LOGIN_ADDRESS_LIMITS="20 per 15 minutes",
        HUB_LOGIN_ACCOUNT_LIMITS="100 per hour",
        HUB_MEMBERS_PER_PAGE=50,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        HUB_QUEUE_IMMEDIATE=False,
    )
    app.config.from_mapping(config_from_env(instance))
    if test_config:
        app.config.from_mapping(test_config)
    fill_secrets(app.config, instance)
    check_config(app.config)
    create_private_database(app.config["SQLALCHEMY_DATABASE_URI"], instance)

    db.init_app(app)
    migrate.init_app(app, db, directory=package_dir("hub.migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    encryption.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    jobs.init_app(app)

    from hub import (
        attendance,
        auth,
        commands,
        errors,
        exports,
        health,
        home,
        integrations,
        manhours,
        members,
        settings,
        sync,
        timesheets,
    )

    areas = (
        auth,
        home,
        settings,
        members,
        manhours,
        integrations,
        sync,
        attendance,
        exports,
        timesheets,
        health,
        errors,
    )
    for area in (*areas, commands):
        area.init_app(app)

    pm = get_plugin_manager(blocked=app.config["HUB_BLOCKED_PLUGINS"], extra=plugins)
    app.extensions["hub"] = pm
    pm.hook.hub_init_app(app=app)
    app.jinja_env.globals["plugin_nav_links"] = nav_links
    # Fail at start-up, not on first use, when two plugins claim one provider or exporter name.
    providers(app)
    exporters(app)
    return app
