"""Attendance from a CSV file in the ``crowdlog`` format: the manual path for companies without an API.

The header is exactly ``社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇`` (DESIGN.md "CSV
formats"), which is what ``hub export csv --format crowdlog`` writes, so an export imported into another hub
and exported again gives the same bytes. Every line is checked first (member, date, times, breaks, leave,
the checks a synced day passes, locks); then the days are upserted by member and date in one transaction,
or none is. Imported days belong to no integration and name the file they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from hub import audit, crowdlog, store
from hub.cells import unneutralize
from hub.codes import checked_code
from hub.csvfiles import (
    ImportFailed,
    ImportResult,
    RowError,
    cells_by_key,
    check_lines,
    decode_csv,
    read_csv,
    refuse,
    source_name,
)
from hub.extensions import db
from hub.members.fields import date_cell
from hub.models import Member, utcnow
from hub.records import DayRecord, LeaveKind
from hub.sync.validation import problems


@dataclass(frozen=True)
class AttendanceRow:
    """One checked line: a member's attendance on a date, as the record the core stores."""

    line: int
    member: Member
    record: DayRecord

    @property
    def empty(self) -> bool:
        """No clock, break or leave: a filler row for a day without attendance."""
        record = self.record
        nothing = record.clock_in is None and record.clock_out is None and not record.breaks
        return nothing and record.leave is LeaveKind.NONE and not record.hourly_leaves


@dataclass
class AttendanceImported(ImportResult):
    skipped: int = 0  # rows with a code and a date but no attendance
    source: str = ""  # the file name the days are tracked by

    def as_dict(self) -> dict:
        return {"file": self.source, **super().as_dict(), "skipped": self.skipped}

    def summary(self) -> str:
        message = ngettext(
            "Imported %(num)d attendance day from %(file)s: %(created)d added, %(updated)d updated, "
            "%(unchanged)d unchanged.",
            "Imported %(num)d attendance days from %(file)s: %(created)d added, %(updated)d updated, "
            "%(unchanged)d unchanged.",
            self.total,
            file=self.source,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )
        if self.skipped:
            message += " " + _("%(count)d rows without attendance were skipped.", count=self.skipped)
        return message


def import_attendance(data: bytes, filename: str) -> AttendanceImported:
    """Check every line of the crowdlog CSV ``data``, then upsert the days; raise ImportFailed otherwise."""
    source = source_name(filename)
    rows, skipped = parse_rows(decode_csv(data))
    result = _write(rows, source)
    result.skipped, result.source = skipped, source
    audit.record("attendance.import", target=source, details=result.as_dict())
    db.session.commit()
    return result


def parse_rows(text: str) -> tuple[list[AttendanceRow], int]:
    """The file's lines as checked day records, and how many lines held no attendance (those are skipped).

    ImportFailed names every bad line.
    """
    header, lines = read_csv(text)
    if not crowdlog.header_matches(header):
        raise ImportFailed([RowError(1, _("The header must be exactly %(header)s.", header=",".join(crowdlog.HEADER)))])
    members = {member.code: member for member in db.session.scalars(select(Member))}
    checked, errors = check_lines(
        lines,
        lambda line, cells: _read_row(line, cells, members),
        key=lambda row: (row.member.id, row.record.work_date),
        duplicate=_duplicate,
    )
    rows = [row for row in checked if not row.empty]
    skipped = len(checked) - len(rows)
    errors.extend(_locked(rows))
    refuse(errors, None if checked else _("The file has a header but no attendance."))
    return rows, skipped


def _read_row(line: int, cells: list[str], members: dict[str, Member]) -> AttendanceRow:
    raw = cells_by_key(crowdlog.KEYS, [unneutralize(cell) for cell in cells])
    if not raw["code"]:
        raise ValueError(_("%(column)s is empty.", column=crowdlog.LABELS["code"]))
    code = checked_code(raw["code"], crowdlog.LABELS["code"])
    member = members.get(code)
    if member is None:
        raise ValueError(_("No member has the employee code %(code)s.", code=code))
    work_date = date_cell(raw["date"], crowdlog.LABELS["date"])
    clock_in = crowdlog.read_clock("clock_in", raw["clock_in"])
    clock_out = crowdlog.read_clock("clock_out", raw["clock_out"])
    breaks = crowdlog.read_breaks(raw["breaks"])
    leave, hourly = crowdlog.read_leave(raw["leave"])
    record = DayRecord(
        remote_id=member.code,
        work_date=work_date,
        clock_in=clock_in,
        clock_out=clock_out,
        breaks=breaks,
        work_minutes=crowdlog.work_minutes(clock_in, clock_out, [*breaks, *hourly]),
        break_minutes=sum(interval.minutes for interval in breaks),
        leave=leave,
        hourly_leaves=hourly,
        raw={"line": line, "cells": list(cells)},
    )
    reasons = problems(record)
    if reasons:
        raise ValueError(_("This day cannot be stored: %(reasons)s.", reasons=", ".join(reasons)))
    return AttendanceRow(line, member, record)


def _duplicate(row: AttendanceRow, first_line: int) -> str:
    return _(
        "%(code)s on %(date)s is already on line %(line)d.",
        code=row.member.code,
        date=row.record.work_date.isoformat(),
        line=first_line,
    )


def _locked(rows: list[AttendanceRow]) -> list[RowError]:
    """A line per row whose day is submitted or approved: such days are never overwritten."""
    if not rows:
        return []
    start = min(row.record.work_date for row in rows)
    end = max(row.record.work_date for row in rows)
    locked = store.locked_days({row.member.id for row in rows}, start, end)
    return [
        RowError(
            row.line,
            _(
                "%(code)s on %(date)s is submitted or approved. Reopen the day to change its attendance.",
                code=row.member.code,
                date=row.record.work_date.isoformat(),
            ),
        )
        for row in rows
        if (row.member.id, row.record.work_date) in locked
    ]


def _write(rows: list[AttendanceRow], source: str) -> AttendanceImported:
    """Insert new days, update changed ones and their breaks and hourly leave; an unchanged day is not written.

    A day is unchanged when it came from a file of the same name with the same content; a day synced from an
    integration, or imported from another file, is replaced and then tracked by this file.
    """
    result = AttendanceImported()
    if not rows:
        return result
    start = min(row.record.work_date for row in rows)
    end = max(row.record.work_date for row in rows)
    stored = store.stored_days({row.member.id for row in rows}, start, end)
    changes = store.DayChanges(store.DaySource(source_file=source), synced_at=utcnow())
    for row in rows:
        changes.put(row.member.id, row.record, stored.get((row.member.id, row.record.work_date)))
    store.write(changes)
    result.created, result.updated, result.unchanged = len(changes.inserts), len(changes.updates), changes.unchanged
    return result
