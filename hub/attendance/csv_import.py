"""Attendance from a CSV file in the ``crowdlog`` format: the manual path for companies without an API.

The header is exactly ``社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇`` (DESIGN.md "CSV
formats"), which is what ``hub export csv --format crowdlog`` writes, so an export imported into another hub
and exported again gives the same bytes. Every line is checked first (member, date, times, breaks, leave,
the checks a synced day passes, locks); then the days are upserted by member and date in one transaction,
or none is. Imported days belong to no integration and name the file they came from.
"""

from __future__ import annotations

import ntpath
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update

from hub import audit
from hub.codes import normalize_code
from hub.csvfiles import MAX_ERRORS, ImportFailed, RowError, cells_by_key, decode_csv, read_csv, unneutralize
from hub.extensions import db
from hub.members.fields import parse_date
from hub.models import AttendanceBreak, AttendanceDay, HourlyLeaveInterval, Member, utcnow
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind
from hub.sync.engine import content_hash
from hub.sync.validation import problems
from hub.timesheets.locks import locked_days

HEADER = ("社員コード", "年月日", "出社", "退社", "休憩詳細", "日報", "ステータス", "休暇")
KEYS = ("code", "date", "clock_in", "clock_out", "breaks", "report", "status", "leave")
LABELS = dict(zip(KEYS, HEADER, strict=True))
LEAVE_KINDS = {"全休": LeaveKind.FULL, "午前休": LeaveKind.AM, "午後休": LeaveKind.PM}
MAX_FILE_NAME = 255
#: 48 hours: a work date's clock-out can be the next morning (26:10), never the day after.
MAX_CLOCK_HOURS = 48
_CHUNK = 500

_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_HOURLY = re.compile(r"^時間休\((.*)\)$")


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
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows with a code and a date but no attendance
    source: str = ""  # the file name the days are tracked by

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def import_attendance(data: bytes, filename: str) -> ImportResult:
    """Check every line of the crowdlog CSV ``data``, then upsert the days; raise ImportFailed otherwise."""
    source = source_name(filename)
    rows, skipped = parse_rows(decode_csv(data))
    result = _write(rows, source)
    result.skipped, result.source = skipped, source
    details = {"file": source, "created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    audit.record("attendance.import", target=source, details=details | {"skipped": skipped})
    db.session.commit()
    return result


def source_name(filename: str) -> str:
    """The file's own name, without any folder a browser or a shell put before it."""
    return ntpath.basename(filename).strip()[:MAX_FILE_NAME] or "upload.csv"


def parse_rows(text: str) -> tuple[list[AttendanceRow], int]:
    """The file's lines as checked day records, and how many lines held no attendance (those are skipped).

    ImportFailed names every bad line.
    """
    header, lines = read_csv(text)
    if tuple(unicodedata.normalize("NFKC", cell).strip() for cell in header) != HEADER:
        raise ImportFailed([RowError(1, _("The header must be exactly %(header)s.", header=",".join(HEADER)))])
    members = {member.code: member for member in db.session.scalars(select(Member))}
    errors: list[RowError] = []
    rows: list[AttendanceRow] = []
    seen: dict[tuple[int, date], int] = {}
    skipped = 0
    try:
        for line, cells in lines:
            try:
                row = _read_row(line, cells, members)
            except ValueError as exc:
                errors.append(RowError(line, str(exc)))
            else:
                key = (row.member.id, row.record.work_date)
                if key in seen:
                    errors.append(RowError(line, _duplicate(row, seen[key])))
                else:
                    seen[key] = line
                    if row.empty:
                        skipped += 1
                    else:
                        rows.append(row)
            if len(errors) >= MAX_ERRORS:
                break
    except ImportFailed as broken:
        errors.extend(broken.errors)
    errors.extend(_locked(rows))
    if errors:
        raise ImportFailed(sorted(errors, key=lambda error: error.line)[:MAX_ERRORS])
    if not rows and not skipped:
        raise ImportFailed([RowError(2, _("The file has a header but no attendance."))])
    return rows, skipped


def _read_row(line: int, cells: list[str], members: dict[str, Member]) -> AttendanceRow:
    raw = cells_by_key(KEYS, [unneutralize(cell) for cell in cells])
    if not raw["code"]:
        raise ValueError(_("%(column)s is empty.", column=LABELS["code"]))
    code = normalize_code(raw["code"])
    member = members.get(code)
    if member is None:
        raise ValueError(_("No member has the employee code %(code)s.", code=code))
    try:
        work_date = parse_date(raw["date"])
    except ValueError:
        raise ValueError(
            _("%(column)s “%(value)s” is not a date such as 2025-04-01.", column=LABELS["date"], value=raw["date"])
        ) from None
    clock_in = _clock_cell(raw, "clock_in")
    clock_out = _clock_cell(raw, "clock_out")
    breaks = _breaks(raw["breaks"])
    leave, hourly = _leave(raw["leave"])
    record = DayRecord(
        remote_id=member.code,
        work_date=work_date,
        clock_in=clock_in,
        clock_out=clock_out,
        breaks=breaks,
        work_minutes=_work_minutes(clock_in, clock_out, [*breaks, *hourly]),
        break_minutes=sum(interval.minutes for interval in breaks),
        leave=leave,
        hourly_leaves=hourly,
        raw={"line": line, "cells": list(cells)},
    )
    reasons = problems(record)
    if reasons:
        raise ValueError(_("This day cannot be stored: %(reasons)s.", reasons=", ".join(reasons)))
    return AttendanceRow(line, member, record)


def _clock(text: str) -> int:
    """Minutes from the work date's midnight for ``HH:MM``, hours past 24 after midnight; ValueError otherwise."""
    match = _CLOCK.match(unicodedata.normalize("NFKC", text).strip())
    if not match or int(match.group(1)) >= MAX_CLOCK_HOURS:
        raise ValueError(text)
    return int(match.group(1)) * 60 + int(match.group(2))


def _clock_cell(raw: dict[str, str], key: str) -> int | None:
    text = raw[key]
    if not text:
        return None
    try:
        return _clock(text)
    except ValueError:
        raise ValueError(
            _("%(column)s “%(value)s” is not a time such as 09:00 or 26:10.", column=LABELS[key], value=text)
        ) from None


def _interval(text: str) -> tuple[int, int]:
    start, separator, end = text.partition("-")
    if not separator:
        raise ValueError(text)
    return _clock(start), _clock(end)


def _breaks(text: str) -> tuple[Interval, ...]:
    """休憩詳細: ``HH:MM-HH:MM`` joined by ``/``, in time order."""
    if not text:
        return ()
    try:
        intervals = [Interval(*_interval(part)) for part in text.split("/")]
    except ValueError:
        raise ValueError(
            _(
                "%(column)s “%(value)s” is not a list of breaks such as %(example)s.",
                column=LABELS["breaks"],
                value=text,
                example="12:00-13:00/15:00-15:15",
            )
        ) from None
    return tuple(sorted(intervals, key=lambda interval: interval.start))


def _leave(text: str) -> tuple[LeaveKind, tuple[HourlyLeave, ...]]:
    """休暇: empty, 全休, 午前休 or 午後休, and any number of 時間休(HH:MM-HH:MM), joined by ``/``."""
    if not text:
        return LeaveKind.NONE, ()
    kind = LeaveKind.NONE
    hourly = []
    for part in unicodedata.normalize("NFKC", text).split("/"):
        part = part.strip()
        if part in LEAVE_KINDS:
            if kind is not LeaveKind.NONE:
                raise ValueError(
                    _(
                        "%(column)s “%(value)s” has more than one of %(kinds)s.",
                        column=LABELS["leave"],
                        value=text,
                        kinds=", ".join(LEAVE_KINDS),
                    )
                )
            kind = LEAVE_KINDS[part]
            continue
        match = _HOURLY.match(part)
        try:
            if not match:
                raise ValueError(part)
            start, end = _interval(match.group(1))
        except ValueError:
            raise ValueError(
                _(
                    "%(column)s “%(value)s”: “%(part)s” is not one of %(kinds)s or %(hourly)s.",
                    column=LABELS["leave"],
                    value=text,
                    part=part,
                    kinds=", ".join(LEAVE_KINDS),
                    hourly="時間休(HH:MM-HH:MM)",
                )
            ) from None
        if end <= start:
            raise ValueError(
                _("%(column)s “%(value)s”: an hourly leave ends before it starts.", column=LABELS["leave"], value=text)
            )
        hourly.append(HourlyLeave(start, end))
    return kind, tuple(sorted(hourly, key=lambda leave: leave.start))


def _work_minutes(clock_in: int | None, clock_out: int | None, away: list) -> int | None:
    """Clock-out − clock-in, less the time within it spent on breaks or hourly leave; None without both clocks."""
    if clock_in is None or clock_out is None:
        return None
    covered = 0
    reach = clock_in
    for start, end in sorted((max(item.start, clock_in), min(item.end, clock_out)) for item in away):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return max(clock_out - clock_in - covered, 0)


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
    locked = locked_days(sorted({row.member.id for row in rows}), start, end)
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


def _write(rows: list[AttendanceRow], source: str) -> ImportResult:
    """Insert new days, update changed ones and their breaks and hourly leave; an unchanged day is not written.

    A day is unchanged when it came from a file of the same name with the same content; a day synced from an
    integration, or imported from another file, is replaced and then tracked by this file.
    """
    result = ImportResult()
    if not rows:
        return result
    existing = _existing_days(rows)
    now = utcnow()
    inserts, updates = [], []
    for row in rows:
        record = row.record
        digest = content_hash(record)
        previous = existing.get((row.member.id, record.work_date))
        if previous is not None and previous[1:] == (None, source, digest):
            result.unchanged += 1
            continue
        values = _values(row, source, digest, now)
        if previous is None:
            inserts.append((values, record))
        else:
            updates.append((dict(values, id=previous[0]), record))
    result.created, result.updated = len(inserts), len(updates)
    if inserts:
        statement = insert(AttendanceDay).returning(AttendanceDay.id, sort_by_parameter_order=True)
        ids = db.session.scalars(statement, [values for values, _ in inserts]).all()
        _insert_children(zip(ids, (record for _, record in inserts), strict=True))
    if updates:
        ids = [values["id"] for values, _ in updates]
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            db.session.execute(delete(AttendanceBreak).where(AttendanceBreak.day_id.in_(chunk)))
            db.session.execute(delete(HourlyLeaveInterval).where(HourlyLeaveInterval.day_id.in_(chunk)))
        db.session.execute(update(AttendanceDay), [values for values, _ in updates])
        _insert_children(zip(ids, (record for _, record in updates), strict=True))
    return result


def _values(row: AttendanceRow, source: str, digest: str, now) -> dict:
    record = row.record
    return {
        "member_id": row.member.id,
        "work_date": record.work_date,
        "clock_in": record.clock_in,
        "clock_out": record.clock_out,
        "work_minutes": record.work_minutes,
        "break_minutes": record.break_minutes,
        "leave": record.leave,
        "leave_name": record.leave_name,
        "integration_id": None,
        "source_file": source,
        "remote_id": None,
        "content_hash": digest,
        "raw_payload": dict(record.raw),
        "synced_at": now,
    }


def _insert_children(days) -> None:
    """The breaks and hourly leave of ``(day id, record)`` pairs, one executemany each."""
    breaks, leaves = [], []
    for day_id, record in days:
        breaks.extend({"day_id": day_id, "start": item.start, "end": item.end} for item in record.breaks)
        leaves.extend(
            {"day_id": day_id, "start": item.start, "end": item.end, "name": item.name} for item in record.hourly_leaves
        )
    if breaks:
        db.session.execute(insert(AttendanceBreak), breaks)
    if leaves:
        db.session.execute(insert(HourlyLeaveInterval), leaves)


def _existing_days(rows: list[AttendanceRow]) -> dict[tuple[int, date], tuple]:
    """(id, integration id, source file, content hash) of the stored days by (member id, date)."""
    start = min(row.record.work_date for row in rows)
    end = max(row.record.work_date for row in rows)
    member_ids = sorted({row.member.id for row in rows})
    found = {}
    for offset in range(0, len(member_ids), _CHUNK):
        stored = db.session.execute(
            select(
                AttendanceDay.member_id,
                AttendanceDay.work_date,
                AttendanceDay.id,
                AttendanceDay.integration_id,
                AttendanceDay.source_file,
                AttendanceDay.content_hash,
            ).where(
                AttendanceDay.member_id.in_(member_ids[offset : offset + _CHUNK]),
                AttendanceDay.work_date.between(start, end),
            )
        )
        for member_id, work_date, *previous in stored:
            found[(member_id, work_date)] = tuple(previous)
    return found
