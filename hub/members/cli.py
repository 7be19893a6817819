"""`hub members import`."""

from __future__ import annotations

import click

from hub.importing import import_command
from hub.members.importer import import_members


@click.group("members")
def members_group() -> None:
    """Members (メンバー)."""


members_group.add_command(
    import_command(import_members, "Import members from a CSV file (UTF-8, UTF-8 with BOM or CP932); all rows or none.")
)
