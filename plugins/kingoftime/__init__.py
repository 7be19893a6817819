"""KING OF TIME (キングオブタイム) provider plugin, registered through the ``kintai_hub`` entry point."""

from __future__ import annotations

import click

from hub import hookimpl


@hookimpl
def hub_providers():
    from hub_plugins.kingoftime.provider import KingOfTimeProvider

    return [KingOfTimeProvider()]


@hookimpl
def hub_init_app(app):
    from hub_plugins.kingoftime.simulator import simulator_command

    @click.group("kingoftime")
    def kingoftime_group():
        """KING OF TIME tools (a local simulator of the KING OF TIME WebAPI)."""

    kingoftime_group.add_command(simulator_command)
    app.cli.add_command(kingoftime_group)
