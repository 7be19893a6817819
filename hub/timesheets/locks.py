"""Which timesheet days are locked: submitted or approved days, which neither a sync nor an edit changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.extensions import db
from hub.models import DayState, TimesheetDay

_CHUNK = 500


def locked_days(member_ids: list[int], start: date, end: date) -> set[tuple[int, date]]:
    """(member id, date) of the submitted or approved days of these members in the period."""
    locked = set()
    for offset in range(0, len(member_ids), _CHUNK):
        rows = db.session.execute(
            select(TimesheetDay.member_id, TimesheetDay.work_date).where(
                TimesheetDay.member_id.in_(member_ids[offset : offset + _CHUNK]),
                TimesheetDay.work_date.between(start, end),
                TimesheetDay.state != DayState.DRAFT,
            )
        )
        locked.update((member_id, work_date) for member_id, work_date in rows)
    return locked
