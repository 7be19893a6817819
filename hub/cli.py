"""The ``hub`` console script: a Flask CLI group that builds the hub and offers its commands.

The commands themselves are registered on every app the factory builds (:mod:`hub.commands`), so tests reach
them through ``app.test_cli_runner()`` exactly as this group does.
"""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command

from hub.commands import keys_group


def _create_app() -> Flask:
    from hub.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(message)s")

    return create_app()


main = FlaskGroup(
    name="hub",
    create_app=_create_app,
    add_default_commands=False,
    set_debug_flag=False,
    help="Kintai Hub: attendance integration hub. Configuration comes from HUB_* environment variables.",
)
# FlaskGroup's --app/--env-file/--debug belong to `flask`; the hub always builds its own app.
main.params = [param for param in main.params if param.name not in {"app", "env_file", "debug", "version"}]
main = click.version_option(None, "--version", package_name="kintai-hub")(main)
main.add_command(shell_command)
main.add_command(routes_command)


# `hub keys generate` must not build the app (that would generate keys into the instance folder).
main.add_command(keys_group)
