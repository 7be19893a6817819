"""工数 CSV import: every line checked first, then the man-hours upserted in one transaction, or none.

The header names 社員コード, 年月日, プロジェクトコード and 工数 (or their English aliases) in any order. 工数 is
minutes (``90``) or hours and minutes (``1:30``) in the settings' input unit; ``0`` removes the entry.
Each line sets one member's minutes on one project and date; entries the file does not name stay.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from hub import audit
from hub.cells import unneutralize
from hub.chunks import chunks
from hub.codes import checked_code
from hub.csvfiles import (
    ImportResult,
    RowError,
    cells_by_key,
    check_lines,
    decode_csv,
    header_keys,
    read_csv,
    refuse,
)
from hub.extensions import db
from hub.manhours.rules import EntryError, check_minutes, parse_duration
from hub.members.fields import date_cell
from hub.models import Member, Project, TimeEntry
from hub.settings.service import current_settings
from hub.store import locked_days

COLUMNS = {
    "code": ("社員コード", "employee_code", "code"),
    "date": ("年月日", "日付", "date"),
    "project": ("プロジェクトコード", "project_code", "project"),
    "minutes": ("工数", "minutes", "manhours"),
}
REQUIRED = tuple(COLUMNS)


@dataclass(frozen=True)
class ManhoursRow:
    """One checked line: a member's minutes on a project and date."""

    line: int
    member: Member
    work_date: date
    project: Project
    minutes: int


@dataclass
class ManhoursImported(ImportResult):
    removed: int = 0  # lines of 0 minutes that removed an entry

    @property
    def total(self) -> int:
        return super().total + self.removed

    def as_dict(self) -> dict[str, int]:
        return {**super().as_dict(), "removed": self.removed}

    def summary(self) -> str:
        return ngettext(
            "Imported %(num)d man-hours line: %(created)d added, %(updated)d updated, %(removed)d removed, "
            "%(unchanged)d unchanged.",
            "Imported %(num)d man-hours lines: %(created)d added, %(updated)d updated, %(removed)d removed, "
            "%(unchanged)d unchanged.",
            self.total,
            created=self.created,
            updated=self.updated,
            removed=self.removed,
            unchanged=self.unchanged,
        )


def import_manhours(data: bytes, filename: str) -> ManhoursImported:
    """Check every line of the CSV ``data``, then upsert the entries; raise ImportFailed otherwise."""
    rows = parse_rows(decode_csv(data))
    result = _write(rows)
    audit.record("manhours.import", target=filename, details=result.as_dict())
    db.session.commit()
    return result


def parse_rows(text: str) -> list[ManhoursRow]:
    """The file's lines checked against the members, projects, input unit and locks; ImportFailed otherwise."""
    header, lines = read_csv(text)
    keys = header_keys(header, COLUMNS, REQUIRED)
    members = {member.code: member for member in db.session.scalars(select(Member))}
    projects = {project.code: project for project in db.session.scalars(select(Project))}
    unit = current_settings().input_unit
    rows, errors = check_lines(
        lines,
        lambda line, cells: _read_row(line, keys, cells, members, projects, unit),
        key=lambda row: (row.member.id, row.work_date, row.project.id),
        duplicate=_duplicate,
    )
    errors.extend(_locked(rows))
    refuse(errors, None if rows else _("The file has a header but no man-hours."))
    return rows


def _read_row(
    line: int,
    keys: list[str],
    cells: list[str],
    members: dict[str, Member],
    projects: dict[str, Project],
    unit: int,
) -> ManhoursRow:
    raw = cells_by_key(keys, cells)
    for key, text in raw.items():
        if not text:
            raise ValueError(_("%(column)s is empty.", column=COLUMNS[key][0]))
    code = checked_code(unneutralize(raw["code"]), COLUMNS["code"][0])
    member = members.get(code)
    if member is None:
        raise ValueError(_("No member has the employee code %(code)s.", code=code))
    work_date = date_cell(raw["date"], COLUMNS["date"][0])
    project_code = checked_code(unneutralize(raw["project"]), COLUMNS["project"][0])
    project = projects.get(project_code)
    if project is None:
        raise ValueError(_("No project has the code %(code)s.", code=project_code))
    if not project.active:
        raise ValueError(_("Project %(code)s is inactive.", code=project.code))
    try:
        minutes = parse_duration(unicodedata.normalize("NFKC", raw["minutes"]))
        check_minutes(minutes, unit)
    except EntryError as exc:
        raise ValueError(
            _("%(column)s “%(value)s”: %(reason)s", column=COLUMNS["minutes"][0], value=raw["minutes"], reason=str(exc))
        ) from None
    return ManhoursRow(line, member, work_date, project, minutes)


def _duplicate(row: ManhoursRow, first_line: int) -> str:
    return _(
        "%(code)s on %(date)s for project %(project)s is already on line %(line)d.",
        code=row.member.code,
        date=row.work_date.isoformat(),
        project=row.project.code,
        line=first_line,
    )


def _locked(rows: list[ManhoursRow]) -> list[RowError]:
    """A line per row whose day is submitted or approved: such days are reopened before they change."""
    if not rows:
        return []
    start = min(row.work_date for row in rows)
    end = max(row.work_date for row in rows)
    locked = locked_days(sorted({row.member.id for row in rows}), start, end)
    return [
        RowError(
            row.line,
            _(
                "%(code)s on %(date)s is submitted or approved. Reopen the day to change its man-hours.",
                code=row.member.code,
                date=row.work_date.isoformat(),
            ),
        )
        for row in rows
        if (row.member.id, row.work_date) in locked
    ]


def _write(rows: list[ManhoursRow]) -> ManhoursImported:
    existing = _existing_entries(rows)
    result = ManhoursImported()
    for row in rows:
        entry = existing.get((row.member.id, row.work_date, row.project.id))
        if entry is None:
            if row.minutes:
                db.session.add(
                    TimeEntry(
                        member_id=row.member.id, work_date=row.work_date, project_id=row.project.id, minutes=row.minutes
                    )
                )
                result.created += 1
            else:
                result.unchanged += 1
        elif row.minutes == 0:
            db.session.delete(entry)
            result.removed += 1
        elif entry.minutes != row.minutes:
            entry.minutes = row.minutes
            result.updated += 1
        else:
            result.unchanged += 1
    return result


def _existing_entries(rows: list[ManhoursRow]) -> dict[tuple[int, date, int], TimeEntry]:
    start = min(row.work_date for row in rows)
    end = max(row.work_date for row in rows)
    member_ids = sorted({row.member.id for row in rows})
    found = {}
    for chunk in chunks(member_ids):
        entries = db.session.scalars(
            select(TimeEntry).where(
                TimeEntry.member_id.in_(chunk),
                TimeEntry.work_date.between(start, end),
            )
        )
        for entry in entries:
            found[(entry.member_id, entry.work_date, entry.project_id)] = entry
    return found
