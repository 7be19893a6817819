"""Jobcan (ジョブカン勤怠管理) provider plugin, registered through the ``kintai_hub`` entry point."""

from __future__ import annotations

import click

from hub import hookimpl


@hookimpl
def hub_providers():
    from hub_plugins.jobcan.provider import JobcanProvider

    return [JobcanProvider()]


@hookimpl
def hub_init_app(app):
    from hub_plugins.jobcan.simulator import simulator_command

    @click.group("jobcan")
    def jobcan_group():
        """Jobcan tools (a local simulator of the Jobcan API)."""

    jobcan_group.add_command(simulator_command)
    app.cli.add_command(jobcan_group)
