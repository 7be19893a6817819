"""Booking man-hours on a day: the entries of one member and date, replaced together, locks honoured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from hub import audit
from hub.extensions import db
from hub.manhours.rules import EntryError, check_minutes
from hub.models import Member, Project, TimeEntry
from hub.settings.service import current_settings
from hub.store import locked_days


class DayLocked(EntryError):
    """The day is submitted or approved; reopen it before changing its man-hours."""


def active_projects() -> list[Project]:
    return list(db.session.scalars(select(Project).where(Project.active).order_by(Project.code)))


def day_entries(member: Member, work_date: date) -> list[TimeEntry]:
    return list(
        db.session.scalars(
            select(TimeEntry)
            .join(Project)
            .where(TimeEntry.member_id == member.id, TimeEntry.work_date == work_date)
            .order_by(Project.code)
        )
    )


def save_day(member: Member, work_date: date, minutes_by_project: Mapping[int, int]) -> bool:
    """Set the day's minutes per project (0 removes an entry); False when nothing changed.

    Raises DayLocked for a submitted or approved day and EntryError for a value off the input unit.
    """
    if locked_days([member.id], work_date, work_date):
        raise DayLocked(_("This day is submitted or approved. Reopen it to change its man-hours."))
    unit = current_settings().input_unit
    for minutes in minutes_by_project.values():
        check_minutes(minutes, unit)
    existing = {entry.project_id: entry for entry in day_entries(member, work_date)}
    projects = {project.id: project for project in db.session.scalars(select(Project))}
    changes = {}
    for project_id, minutes in minutes_by_project.items():
        entry = existing.get(project_id)
        before = entry.minutes if entry else 0
        if before == minutes:
            continue
        changes[projects[project_id].code] = [before, minutes]
        if entry is None:
            db.session.add(TimeEntry(member_id=member.id, work_date=work_date, project_id=project_id, minutes=minutes))
        elif minutes == 0:
            db.session.delete(entry)
        else:
            entry.minutes = minutes
    if not changes:
        return False
    audit.record("manhours.update", target=f"{member.code} {work_date.isoformat()}", details=changes)
    db.session.commit()
    return True
