"""Checks every day record must pass before it is stored."""

from __future__ import annotations

from itertools import pairwise

from flask_babel import gettext as _

from hub.records import DayRecord

MAX_WORK_MINUTES = 24 * 60


def problems(record: DayRecord) -> list[str]:
    """Why ``record`` cannot be stored (empty when it can)."""
    found = []
    if record.clock_in is not None and record.clock_out is not None and record.clock_out < record.clock_in:
        found.append(_("clock-out is before clock-in"))
    span = (record.clock_out - record.clock_in) if record.clock_in is not None and record.clock_out is not None else 0
    if (record.work_minutes or 0) > MAX_WORK_MINUTES or span > MAX_WORK_MINUTES:
        found.append(_("more than 24 hours of work"))
    if any(value is not None and value < 0 for value in (record.work_minutes, record.break_minutes)):
        found.append(_("negative work or break minutes"))
    # min() of the values or 0 (None: not said): no generator per record, a sync checks tens of thousands.
    if min(record.overtime_minutes or 0, record.late_night_minutes or 0, record.late_minutes or 0,
           record.early_leave_minutes or 0) < 0:  # fmt: skip
        found.append(_("negative overtime, late-night, late or early-leave minutes"))
    breaks = sorted(record.breaks, key=lambda interval: interval.start)
    if any(interval.end < interval.start for interval in breaks):
        found.append(_("a break ends before it starts"))
    if any(later.start < earlier.end for earlier, later in pairwise(breaks)):
        found.append(_("breaks overlap"))
    return found
