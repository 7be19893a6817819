"""Stored attendance: the one place days are read for comparison and written, with their breaks and hourly leave.

A sync and a crowdlog CSV import both come down to the same step: compare records with the stored days of some
members over a period, then insert the new days, update the changed ones and delete the vanished ones. They
classify records (matching, validation, locks, conflicts are theirs); :class:`DayChanges` collects what to
write, decides what is unchanged by the content hash, and :func:`write` writes it in the caller's transaction.

Rows are inserted through the Core tables, not the ORM: the ORM's bulk insert groups consecutive rows by which
columns are None, which turns a sync's interleaved days (missing clock-outs, leave, unnamed hourly leave) into
hundreds of small statements (docs/performance.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select, update

from hub.chunks import chunks
from hub.extensions import db
from hub.models import AttendanceBreak, AttendanceDay, DayState, HourlyLeaveInterval, Integration, TimesheetDay
from hub.records import DayRecord


def content_hash(record: DayRecord) -> str:
    """A fingerprint of what is stored for a day, so an unchanged day is never rewritten."""
    payload = (
        record.remote_id,
        record.clock_in,
        record.clock_out,
        record.work_minutes,
        record.break_minutes,
        str(record.leave),
        record.leave_name,
        tuple((b.start, b.end) for b in record.breaks),
        tuple((h.start, h.end, h.name) for h in record.hourly_leaves),
    )
    # repr of ints, strings and None is stable across runs and versions, and much cheaper than JSON.
    return hashlib.blake2b(repr(payload).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class DaySource:
    """Where days come from: an integration (a sync) or a file (an import); exactly one is set."""

    integration_id: int | None = None
    source_file: str | None = None


@dataclass(frozen=True, slots=True)
class StoredDay:
    """What a write compares a record with: the stored day's id, source and content hash."""

    id: int
    integration_id: int | None
    integration_name: str | None
    source_file: str | None
    content_hash: str | None

    def came_from(self, source: DaySource) -> bool:
        return self.integration_id == source.integration_id and self.source_file == source.source_file


def stored_days(member_ids: Sequence[int], start: date, end: date) -> dict[tuple[int, date], StoredDay]:
    """The stored days of these members from ``start`` to ``end`` inclusive, by (member id, work date)."""
    found = {}
    for chunk in chunks(sorted(member_ids)):
        rows = db.session.execute(
            select(
                AttendanceDay.member_id,
                AttendanceDay.work_date,
                AttendanceDay.id,
                AttendanceDay.integration_id,
                Integration.name,
                AttendanceDay.source_file,
                AttendanceDay.content_hash,
            )
            .outerjoin(Integration, Integration.id == AttendanceDay.integration_id)
            .where(AttendanceDay.member_id.in_(chunk), AttendanceDay.work_date.between(start, end))
        )
        for member_id, work_date, *stored in rows:
            found[(member_id, work_date)] = StoredDay(*stored)
    return found


def locked_days(member_ids: Sequence[int], start: date, end: date) -> set[tuple[int, date]]:
    """(member id, date) of the submitted or approved days of these members in the period: never overwritten."""
    locked = set()
    for chunk in chunks(sorted(member_ids)):
        rows = db.session.execute(
            select(TimesheetDay.member_id, TimesheetDay.work_date).where(
                TimesheetDay.member_id.in_(chunk),
                TimesheetDay.work_date.between(start, end),
                TimesheetDay.state != DayState.DRAFT,
            )
        )
        locked.update((member_id, work_date) for member_id, work_date in rows)
    return locked


class Change(StrEnum):
    """What storing a record did to its day."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class DayChanges:
    """The days one sync or import will write, from ``source``, stamped ``synced_at``."""

    source: DaySource
    synced_at: datetime
    inserts: list[tuple[dict, DayRecord]] = field(default_factory=list)
    updates: list[tuple[dict, DayRecord]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    unchanged: int = 0

    def put(self, member_id: int, record: DayRecord, stored: StoredDay | None) -> Change:
        """Store ``record`` as the member's day: a new day, a changed one, or nothing when the same source
        already stored the same content."""
        digest = content_hash(record)
        if stored is not None and stored.content_hash == digest and stored.came_from(self.source):
            self.unchanged += 1
            return Change.UNCHANGED
        row = self._row(member_id, record, digest)
        if stored is None:
            self.inserts.append((row, record))
            return Change.CREATED
        row["id"] = stored.id
        self.updates.append((row, record))
        return Change.UPDATED

    def remove(self, stored: StoredDay) -> None:
        self.deletes.append(stored.id)

    def _row(self, member_id: int, record: DayRecord, digest: str) -> dict:
        source = self.source
        return {
            "member_id": member_id,
            "work_date": record.work_date,
            "clock_in": record.clock_in,
            "clock_out": record.clock_out,
            "work_minutes": record.work_minutes,
            "break_minutes": record.break_minutes,
            "leave": record.leave,
            "leave_name": record.leave_name,
            "integration_id": source.integration_id,
            "source_file": source.source_file,
            # A file names members by code; only a provider has ids of its own.
            "remote_id": record.remote_id if source.integration_id is not None else None,
            "content_hash": digest,
            "raw_payload": dict(record.raw) or None,
            "synced_at": self.synced_at,
        }


def write(changes: DayChanges) -> None:
    """Insert, update and delete the days of ``changes`` with their breaks and hourly leave (no commit)."""
    if changes.inserts:
        # RETURNING with sort_by_parameter_order would cost one INSERT per row on SQLite: the ids are matched back
        # by (member, date), unique per day, so the rows go in batches of a thousand on both databases.
        days = AttendanceDay.__table__
        statement = days.insert().returning(days.c.id, days.c.member_id, days.c.work_date)
        ids = {
            (member_id, work_date): day_id
            for day_id, member_id, work_date in db.session.execute(statement, [row for row, _ in changes.inserts])
        }
        _insert_children((ids[(row["member_id"], row["work_date"])], record) for row, record in changes.inserts)
    if changes.updates:
        ids = [row["id"] for row, _record in changes.updates]
        _delete_children(ids)
        db.session.execute(update(AttendanceDay), [row for row, _record in changes.updates])
        _insert_children(zip(ids, (record for _row, record in changes.updates), strict=True))
    if changes.deletes:
        _delete_children(changes.deletes)
        for chunk in chunks(changes.deletes):
            db.session.execute(delete(AttendanceDay).where(AttendanceDay.id.in_(chunk)))


def _insert_children(days) -> None:
    """The breaks and hourly leave of ``(day id, record)`` pairs, one executemany each."""
    breaks, leaves = [], []
    for day_id, record in days:
        breaks.extend({"day_id": day_id, "start": item.start, "end": item.end} for item in record.breaks)
        leaves.extend(
            {"day_id": day_id, "start": item.start, "end": item.end, "name": item.name} for item in record.hourly_leaves
        )
    if breaks:
        db.session.execute(AttendanceBreak.__table__.insert(), breaks)
    if leaves:
        db.session.execute(HourlyLeaveInterval.__table__.insert(), leaves)


def _delete_children(ids: list[int]) -> None:
    for chunk in chunks(ids):
        db.session.execute(delete(AttendanceBreak).where(AttendanceBreak.day_id.in_(chunk)))
        db.session.execute(delete(HourlyLeaveInterval).where(HourlyLeaveInterval.day_id.in_(chunk)))
