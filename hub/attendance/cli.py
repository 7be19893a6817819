"""`hub attendance import`."""

from __future__ import annotations

import click

from hub.attendance.csv_import import import_attendance
from hub.importing import import_command


@click.group("attendance")
def attendance_group() -> None:
    """Attendance (勤怠) from files."""


attendance_group.add_command(
    import_command(
        import_attendance,
        "Import attendance from a crowdlog-format CSV file (as `hub export csv` writes it); all rows or none.",
    )
)
