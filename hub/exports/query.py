"""The rows of an export: one per member and day with attendance in the period, streamed in order.

The day query (days joined with their member, man-hours summed per day) and two ordered streams — breaks
and hourly leaves — are read side by side and merged here, ordered by employee code then date. Nothing
is collected: the database cursors are read in batches (``yield_per``: a server-side cursor on
PostgreSQL, stepped on SQLite), so memory stays flat whatever the row count. This loop is the hot path of
a million-row export; it works on plain Core rows.

Over 300 lines: the day query, the interval streams and their merge are one algorithm over one order, read
together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Connection

from hub.exporters import ExportDay
from hub.extensions import db
from hub.marks import judge_day
from hub.models import AttendanceBreak, AttendanceDay, HourlyLeaveInterval, Integration, Member, TimeEntry

__all__ = ["ExportDay", "ExportFilter", "ExportRows", "day_query"]

BATCH = 2000


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which days to export: work dates ``start`` to ``end`` inclusive, narrowed by the other fields.

    ``integration_id`` keeps days synced from that integration, ``department`` members of that 部署,
    ``member_codes`` (normalized 社員コード) those members; empty means all.
    """

    start: date
    end: date
    integration_id: int | None = None
    department: str | None = None
    member_codes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the audit log."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "integration_id": self.integration_id,
            "department": self.department,
            "members": list(self.member_codes),
        }


def _day_conditions(flt: ExportFilter) -> list:
    """Which days of a member are exported: the period and the integration."""
    conditions = [AttendanceDay.work_date.between(flt.start, flt.end)]
    if flt.integration_id is not None:
        conditions.append(AttendanceDay.integration_id == flt.integration_id)
    return conditions


def _member_conditions(flt: ExportFilter) -> list:
    """Which members are exported: the department and the codes."""
    conditions = []
    if flt.department is not None:
        conditions.append(Member.department == flt.department)
    if flt.member_codes:
        conditions.append(Member.code.in_(flt.member_codes))
    return conditions


def _code_order():
    """Employee codes in code point order, the order Python compares them in while merging.

    SQLite compares text that way already (BINARY); PostgreSQL follows the database's collation (en_US or
    ja_JP sort "b1" before "C2" and skip punctuation), so it is told to use "C". The same data then exports
    in the same order, byte for byte, on either database.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return Member.code.collate("C")
    return Member.code


# The queries start from members and LEFT JOIN their days with the filter in the ON clause: the planner then
# walks members in code order (their unique index) and each member's days through the (member_id, work_date)
# index, so rows come out already in export order and no sort of the whole result is needed. SQLite, without
# ANALYZE statistics, otherwise picks the work_date index and sorts every row first: 2.7× slower on a million
# days, and nothing streams until the sort is done. Rows without a day (a member with nothing in the period,
# a day without breaks) carry NULLs and are skipped while merging.


def day_query(flt: ExportFilter) -> Select:
    """The days of the export with member, attendance, source, the day's summed man-hours and its payroll
    minutes, in order.

    A member without days in the period gives one row whose day columns are NULL.
    """
    manhours = (
        select(func.coalesce(func.sum(TimeEntry.minutes), 0))
        .where(TimeEntry.member_id == AttendanceDay.member_id, TimeEntry.work_date == AttendanceDay.work_date)
        .correlate(AttendanceDay)
        .scalar_subquery()
    )
    return (
        select(
            AttendanceDay.id,
            Member.code,
            Member.name,
            Member.department,
            AttendanceDay.work_date,
            AttendanceDay.clock_in,
            AttendanceDay.clock_out,
            AttendanceDay.work_minutes,
            AttendanceDay.break_minutes,
            AttendanceDay.leave,
            AttendanceDay.leave_name,
            AttendanceDay.integration_id,
            AttendanceDay.source_file,
            AttendanceDay.synced_at,
            manhours,
            AttendanceDay.overtime_minutes,
            AttendanceDay.late_night_minutes,
            AttendanceDay.late_minutes,
            AttendanceDay.early_leave_minutes,
        )
        .select_from(Member)
        .outerjoin(AttendanceDay, and_(AttendanceDay.member_id == Member.id, *_day_conditions(flt)))
        .where(*_member_conditions(flt))
        .order_by(_code_order(), AttendanceDay.work_date)
    )


def _break_query(flt: ExportFilter) -> Select:
    """Breaks of the exported days in export order, then by start (most days have one: walked like days)."""
    return (
        select(AttendanceBreak.day_id, Member.code, AttendanceDay.work_date, AttendanceBreak.start, AttendanceBreak.end)
        .select_from(Member)
        .outerjoin(AttendanceDay, and_(AttendanceDay.member_id == Member.id, *_day_conditions(flt)))
        .outerjoin(AttendanceBreak, AttendanceBreak.day_id == AttendanceDay.id)
        .where(*_member_conditions(flt))
        .order_by(_code_order(), AttendanceDay.work_date, AttendanceBreak.start)
    )


def _hourly_leave_query(flt: ExportFilter) -> Select:
    """Hourly leaves of the exported days in export order (few days have one: read from their table)."""
    return (
        select(
            HourlyLeaveInterval.day_id,
            Member.code,
            AttendanceDay.work_date,
            HourlyLeaveInterval.start,
            HourlyLeaveInterval.end,
        )
        .select_from(HourlyLeaveInterval)
        .outerjoin(AttendanceDay, and_(AttendanceDay.id == HourlyLeaveInterval.day_id, *_day_conditions(flt)))
        .outerjoin(Member, and_(Member.id == AttendanceDay.member_id, *_member_conditions(flt)))
        .order_by(_code_order(), AttendanceDay.work_date, HourlyLeaveInterval.start)
    )


class ExportRows:
    """The exported days of ``flt``, in order, built as the cursors are read; ``count`` says how many so far.

    ``threshold`` is the 工数と勤怠の一致 setting the mark is judged with, ``timezone`` the company time
    zone ``synced_at`` is given in. ``close()`` releases the cursors of an export stopped half-way.
    """

    def __init__(self, flt: ExportFilter, threshold: int, timezone: str):
        self.filter = flt
        self.threshold = threshold
        self.timezone = timezone
        self.count = 0
        self._results: list = []

    def __iter__(self) -> Iterator[ExportDay]:
        return self._days()

    def close(self) -> None:
        for result in self._results:
            result.close()
        self._results.clear()

    def _stream(self, connection: Connection, query: Select) -> Iterator:
        """The query's rows, fetched ``BATCH`` at a time (whole batches are cheaper to walk than single rows)."""
        result = connection.execute(query.execution_options(yield_per=BATCH))
        self._results.append(result)
        return iter(result)

    def _days(self) -> Iterator[ExportDay]:
        flt, threshold = self.filter, self.threshold
        connection = db.session.connection()
        integrations = dict(connection.execute(select(Integration.id, Integration.name)).all())
        zone = ZoneInfo(self.timezone)
        breaks = _Intervals(self._stream(connection, _break_query(flt)))
        leaves = _Intervals(self._stream(connection, _hourly_leave_query(flt)))
        days = self._stream(connection, day_query(flt))
        synced_raw = synced_local = None
        for (
            day_id,
            code,
            name,
            department,
            work_date,
            clock_in,
            clock_out,
            work_minutes,
            break_minutes,
            leave,
            leave_name,
            integration_id,
            source_file,
            synced_at,
            manhours,
            overtime,
            late_night,
            late,
            early_leave,
        ) in days:
            if day_id is None:  # a member without days in the period
                continue
            if synced_at != synced_raw:  # a sync stamps all its days alike: convert each stamp once
                synced_raw = synced_at
                synced_local = synced_at.astimezone(zone) if synced_at is not None else None
            work, difference, mark = judge_day(clock_in, clock_out, work_minutes, leave, manhours, threshold)
            self.count += 1
            yield ExportDay(
                code,
                name,
                department,
                work_date,
                clock_in,
                clock_out,
                breaks.of(day_id, code, work_date),
                work,
                break_minutes,
                leave,
                leave_name,
                leaves.of(day_id, code, work_date),
                manhours,
                difference,
                mark,
                integrations.get(integration_id),
                source_file,
                synced_local,
                overtime,
                late_night,
                late,
                early_leave,
            )
        self.close()


class _Intervals:
    """One interval stream (breaks or hourly leaves) read beside the days, handing each day its intervals.

    The stream is in the day query's order, so its head is this day's or a later day's. A head sorting before
    the day belongs to a day the day query did not return (written between the queries): it is skipped.
    """

    __slots__ = ("_groups", "_head")

    def __init__(self, rows: Iterator):
        self._groups = _per_day(rows)
        self._head = next(self._groups, _END)

    def of(self, day_id: int, code: str, work_date: date) -> tuple[tuple[int, int], ...]:
        head = self._head
        if head[0] != day_id:
            if not _before(head, code, work_date):
                return ()
            head = self._head = _skip_to(self._groups, code, work_date)
            if head[0] != day_id:
                return ()
        self._head = next(self._groups, _END)
        return head[3]


#: The head of an exhausted interval stream: no day matches it, nothing sorts after it.
_END = (None, None, None, ())


def _per_day(rows: Iterator) -> Iterator[tuple[int, str, date, tuple[tuple[int, int], ...]]]:
    """Interval rows ``(day_id, code, work_date, start, end)`` grouped per day, in order; rows of no day (the
    LEFT JOINs' NULLs) are dropped."""
    day = day_code = day_date = None
    found: list[tuple[int, int]] = []
    for day_id, code, work_date, start, end in rows:
        if day_id is None or code is None:
            continue
        if day_id == day:
            found.append((start, end))
            continue
        if day is not None:
            yield day, day_code, day_date, tuple(found)
        day, day_code, day_date, found = day_id, code, work_date, [(start, end)]
    if day is not None:
        yield day, day_code, day_date, tuple(found)


def _before(head: tuple, code: str, work_date: date) -> bool:
    """Whether an interval stream's head sorts before the day (code, work_date)."""
    return head[0] is not None and (head[1] < code or (head[1] == code and head[2] < work_date))


def _skip_to(groups: Iterator, code: str, work_date: date) -> tuple:
    """The first head of ``groups`` that does not sort before the day (code, work_date)."""
    head = next(groups, _END)
    while _before(head, code, work_date):
        head = next(groups, _END)
    return head
