"""`hub attendance import`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from hub.csvfiles import import_file


@click.group("attendance")
def attendance_group() -> None:
    """Attendance (勤怠) from files."""


@attendance_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def attendance_import_command(file: Path) -> None:
    """Import attendance from a crowdlog-format CSV file (as `hub export csv` writes it); all rows or none."""
    from hub.attendance.csv_import import import_attendance

    result = import_file(file, import_attendance)
    click.echo(
        f"Imported {result.total} attendance days from {file.name}: {result.created} added, "
        f"{result.updated} updated, {result.unchanged} unchanged."
    )
    if result.skipped:
        click.echo(f"Skipped {result.skipped} rows without attendance.")
