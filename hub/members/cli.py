"""`hub members import`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from hub.csvfiles import import_file


@click.group("members")
def members_group() -> None:
    """Members (メンバー)."""


@members_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def members_import_command(file: Path) -> None:
    """Import members from a CSV file (UTF-8, UTF-8 with BOM or CP932); all rows or none."""
    from hub.members.importer import import_members

    result = import_file(file, import_members)
    click.echo(
        f"Imported {result.total} members: {result.created} added, {result.updated} updated, "
        f"{result.unchanged} unchanged."
    )
