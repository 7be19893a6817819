"""Stored attendance: the one place days are read for comparison and written, with their breaks and hourly leave.

A sync and a crowdlog CSV import both come down to the same step: compare records with the stored days of some
members over a period, then insert the new days, update the changed ones and delete the vanished ones. They
classify records (matching, validation, locks, conflicts are theirs); :class:`DayChanges` collects what to
write, decides what is unchanged by the content hash, and :func:`write` writes it in the caller's transaction.

New rows go through the driver (:mod:`hub.bulk`: COPY on PostgreSQL), not the ORM: the ORM's bulk insert groups
consecutive rows by which columns are None, which turns a sync's interleaved days (missing clock-outs, leave,
unnamed hourly leave) into hundreds of small statements, and encodes every value of every row on its way
(docs/performance.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select, update

from hub import bulk
from hub.chunks import chunks
from hub.extensions import db
from hub.models import AttendanceBreak, AttendanceDay, DayState, HourlyLeaveInterval, Integration, TimesheetDay
from hub.records import DayRecord

_NO_PAYROLL = (None, None, None, None)


def content_hash(record: DayRecord) -> str:
    """A fingerprint of what is stored for a day, so an unchanged day is never rewritten.

    The payroll minutes join the fingerprint only when the provider said any of them: a day without them keeps
    the fingerprint it had before they were stored, so the first sync after the upgrade rewrites only the days
    that gain a value.
    """
    payroll = (record.overtime_minutes, record.late_night_minutes, record.late_minutes, record.early_leave_minutes)
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
    if payroll != _NO_PAYROLL:
        payload += (payroll,)
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


#: The columns of a day row built by :class:`DayChanges`, in order; the source and the time stamp are shared.
DAY_COLUMNS = (
    "member_id",
    "work_date",
    "clock_in",
    "clock_out",
    "work_minutes",
    "break_minutes",
    "leave",
    "leave_name",
    "overtime_minutes",
    "late_night_minutes",
    "late_minutes",
    "early_leave_minutes",
    "remote_id",
    "content_hash",
    "raw_payload",
)
_DAY_KEY = (0, 1)  # member_id, work_date: one day per member and date


@dataclass
class DayChanges:
    """The days one sync or import will write, from ``source``, stamped ``synced_at``.

    Rows are tuples in the order of :data:`DAY_COLUMNS`: a sync builds tens of thousands, and the driver takes
    them as they are (:mod:`hub.bulk`).
    """

    source: DaySource
    synced_at: datetime
    inserts: list[tuple[tuple, DayRecord]] = field(default_factory=list)
    updates: list[tuple[int, tuple, DayRecord]] = field(default_factory=list)  # (day id, row, record)
    deletes: list[int] = field(default_factory=list)
    unchanged: int = 0

    def put(self, member_id: int, record: DayRecord, stored: StoredDay | None) -> Change:
        """Store ``record`` as the member's day: a new day, a changed one, or nothing when the same source
        already stored the same content."""
        digest = content_hash(record)
        if stored is not None and stored.content_hash == digest and stored.came_from(self.source):
            self.unchanged += 1
            return Change.UNCHANGED
        row = (
            member_id,
            record.work_date,
            record.clock_in,
            record.clock_out,
            record.work_minutes,
            record.break_minutes,
            record.leave,
            record.leave_name,
            record.overtime_minutes,
            record.late_night_minutes,
            record.late_minutes,
            record.early_leave_minutes,
            # A file names members by code; only a provider has ids of its own.
            record.remote_id if self.source.integration_id is not None else None,
            digest,
            _payload(record.raw),
        )
        if stored is None:
            self.inserts.append((row, record))
            return Change.CREATED
        self.updates.append((stored.id, row, record))
        return Change.UPDATED

    def remove(self, stored: StoredDay) -> None:
        self.deletes.append(stored.id)

    @property
    def shared(self) -> dict:
        """The column values every written day of this sync or import has."""
        return {
            "integration_id": self.source.integration_id,
            "source_file": self.source.source_file,
            "synced_at": self.synced_at,
        }


def write(changes: DayChanges) -> None:
    """Insert, update and delete the days of ``changes`` with their breaks and hourly leave (no commit)."""
    db.session.flush()  # the driver-level inserts below see only what the database already has
    if changes.inserts:
        rows = [row for row, _record in changes.inserts]
        ids = bulk.insert_with_ids(AttendanceDay.__table__, DAY_COLUMNS, rows, changes.shared, key=_DAY_KEY)
        _insert_children(zip(ids, (record for _row, record in changes.inserts), strict=True))
    if changes.updates:
        ids = [day_id for day_id, _row, _record in changes.updates]
        _delete_children(ids)
        shared = changes.shared
        db.session.execute(
            update(AttendanceDay),
            [
                dict(zip(DAY_COLUMNS[:-1], row[:-1], strict=True), raw_payload=_decoded(row[-1]), id=day_id, **shared)
                for day_id, row, _record in changes.updates
            ],
        )
        _insert_children((day_id, record) for day_id, _row, record in changes.updates)
    if changes.deletes:
        _delete_children(changes.deletes)
        for chunk in chunks(changes.deletes):
            db.session.execute(delete(AttendanceDay).where(AttendanceDay.id.in_(chunk)))


def _payload(raw: Mapping | bytes) -> dict | bytes | None:
    """A record's raw payload as a row holds it: JSON text stays text (:mod:`hub.bulk` stores it as it is), a
    mapping becomes a dict; an empty one, None."""
    if isinstance(raw, bytes):
        return raw or None
    return dict(raw) or None


def _decoded(payload: dict | bytes | None) -> dict | None:
    """A row's raw payload as the ORM's JSON column takes it (an update of a changed day: few per sync)."""
    return json.loads(payload) if isinstance(payload, bytes) else payload


def _insert_children(days) -> None:
    """The breaks and hourly leave of ``(day id, record)`` pairs, one bulk insert each."""
    breaks, leaves = [], []
    for day_id, record in days:
        for item in record.breaks:
            breaks.append((day_id, item.start, item.end))
        for item in record.hourly_leaves:
            leaves.append((day_id, item.start, item.end, item.name))
    bulk.insert(AttendanceBreak.__table__, ("day_id", "start", "end"), breaks, {})
    bulk.insert(HourlyLeaveInterval.__table__, ("day_id", "start", "end", "name"), leaves, {})


def _delete_children(ids: list[int]) -> None:
    for chunk in chunks(ids):
        db.session.execute(delete(AttendanceBreak).where(AttendanceBreak.day_id.in_(chunk)))
        db.session.execute(delete(HourlyLeaveInterval).where(HourlyLeaveInterval.day_id.in_(chunk)))
