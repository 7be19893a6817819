"""A member's timesheet days: attendance, the man-hours booked, the difference and the mark, per date.

Before any attendance exists for a member (no sync yet), weekdays show the settings' 出社/退社/休憩 as
initial values, as the seed's product does; they are marked only once man-hours are booked against them.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub.chunks import chunks
from hub.extensions import db
from hub.marks import Mark, MonthTotals, judge_day
from hub.models import AttendanceDay, DayState, Integration, Member, Settings, TimeEntry, TimesheetDay
from hub.records import LeaveKind

DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Span:
    """A drawn interval of the day bar: ``kind`` is work, break, leave or missing."""

    kind: str
    start: int
    end: int


@dataclass(slots=True)
class DayRow:
    """One row of the タイムシート."""

    work_date: date
    clock_in: int | None = None
    clock_out: int | None = None
    break_minutes: int | None = None
    work_minutes: int | None = None
    manhours: int = 0
    leave: LeaveKind = LeaveKind.NONE
    leave_name: str | None = None
    hourly_leaves: list[tuple[int, int]] = field(default_factory=list)
    breaks: list[tuple[int, int]] = field(default_factory=list)
    has_attendance: bool = False
    initial: bool = False
    source: str | None = None
    synced_at: datetime | None = None
    # The provider's payroll minutes (残業, 深夜, 遅刻, 早退); None when it did not say.
    overtime_minutes: int | None = None
    late_night_minutes: int | None = None
    late_minutes: int | None = None
    early_leave_minutes: int | None = None
    state: DayState = DayState.DRAFT
    difference: int | None = None
    mark: Mark = Mark.NONE

    @property
    def locked(self) -> bool:
        return self.state is not DayState.DRAFT

    @property
    def missing_clock_out(self) -> bool:
        return self.clock_in is not None and self.clock_out is None


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def member_month(member: Member, month: date, settings: Settings) -> list[DayRow]:
    """Every date of ``month`` for ``member``, with attendance, man-hours, state and mark."""
    first, last = month_bounds(month)
    days = {
        day.work_date: day
        for day in db.session.scalars(
            select(AttendanceDay)
            .where(AttendanceDay.member_id == member.id, AttendanceDay.work_date.between(first, last))
            .options(selectinload(AttendanceDay.breaks), selectinload(AttendanceDay.hourly_leaves))
        )
    }
    integrations = dict(db.session.execute(select(Integration.id, Integration.name)).all())
    manhours = dict(
        db.session.execute(
            select(TimeEntry.work_date, func.sum(TimeEntry.minutes))
            .where(TimeEntry.member_id == member.id, TimeEntry.work_date.between(first, last))
            .group_by(TimeEntry.work_date)
        ).all()
    )
    states = dict(
        db.session.execute(
            select(TimesheetDay.work_date, TimesheetDay.state).where(
                TimesheetDay.member_id == member.id, TimesheetDay.work_date.between(first, last)
            )
        ).all()
    )
    before_sync = not days and not members_with_attendance([member.id])
    threshold = settings.mismatch_threshold
    rows = []
    for offset in range((last - first).days + 1):
        work_date = first + timedelta(days=offset)
        row = DayRow(work_date, manhours=int(manhours.get(work_date) or 0))
        row.state = states.get(work_date, DayState.DRAFT)
        stored = days.get(work_date)
        if stored is not None:
            _fill_from_attendance(row, stored, integrations)
        elif shows_initial_values(work_date, before_sync):
            fill_initial(row, settings)
        judge(row, threshold)
        rows.append(row)
    return rows


def shows_initial_values(work_date: date, before_sync: bool) -> bool:
    """Whether a date without attendance shows the settings' 出社/退社 as initial values: weekdays of a member
    who has never had attendance synced or imported (the seed's 初期値)."""
    return before_sync and work_date.weekday() < 5


def members_with_attendance(member_ids: list[int]) -> set[int]:
    """Which of these members have any attendance at all (the others have never been synced)."""
    found = set()
    for chunk in chunks(member_ids):
        found.update(
            db.session.scalars(select(AttendanceDay.member_id).where(AttendanceDay.member_id.in_(chunk)).distinct())
        )
    return found


def _fill_from_attendance(row: DayRow, day: AttendanceDay, integrations: dict[int, str]) -> None:
    row.has_attendance = True
    row.clock_in, row.clock_out = day.clock_in, day.clock_out
    row.break_minutes, row.work_minutes = day.break_minutes, day.work_minutes
    row.leave, row.leave_name = day.leave, day.leave_name
    row.overtime_minutes, row.late_night_minutes = day.overtime_minutes, day.late_night_minutes
    row.late_minutes, row.early_leave_minutes = day.late_minutes, day.early_leave_minutes
    row.breaks = [(item.start, item.end) for item in day.breaks]
    row.hourly_leaves = [(item.start, item.end) for item in day.hourly_leaves]
    row.source = integrations.get(day.integration_id) or day.source_file
    row.synced_at = day.synced_at


def initial_breaks(settings: Settings) -> list[tuple[int, int]]:
    pairs = [(settings.break1_start, settings.break1_end), (settings.break2_start, settings.break2_end)]
    return [(start, end) for start, end in pairs if start is not None and end is not None]


def fill_initial(row: DayRow, settings: Settings) -> None:
    row.initial = True
    row.clock_in, row.clock_out = settings.clock_in, settings.clock_out
    row.breaks = initial_breaks(settings)
    row.break_minutes = sum(end - start for start, end in row.breaks)
    row.work_minutes = max(settings.clock_out - settings.clock_in - row.break_minutes, 0)


def judge(row: DayRow, threshold: int) -> None:
    """Set the row's work time, difference and mark by the day judgement of :mod:`hub.marks`."""
    judgement = judge_day(
        row.clock_in,
        row.clock_out,
        row.work_minutes,
        row.leave,
        row.manhours,
        threshold,
        has_attendance=row.has_attendance,
        initial=row.initial,
    )
    row.work_minutes, row.difference, row.mark = judgement


def month_totals(rows: list[DayRow]) -> MonthTotals:
    """The month's totals row: days worked, work, man-hours, difference, △ days and payroll minutes."""
    totals = MonthTotals()
    for row in rows:
        totals.add(
            manhours=row.manhours,
            mark=row.mark,
            work_minutes=row.work_minutes,
            clock_in=row.clock_in,
            leave=row.leave,
            has_attendance=row.has_attendance,
        )
        totals.add_payroll(row.overtime_minutes, row.late_night_minutes, row.late_minutes, row.early_leave_minutes)
    return totals


def spans(row: DayRow, settings: Settings) -> list[Span]:
    """What the day bar draws, back to front: leave, the work span, breaks, hourly leave."""
    drawn = []
    if row.leave is LeaveKind.FULL:
        drawn.append(Span("leave", settings.clock_in, settings.clock_out))
    elif row.leave is LeaveKind.AM:
        drawn.append(Span("leave", settings.am_leave_start, settings.am_leave_end))
    elif row.leave is LeaveKind.PM:
        drawn.append(Span("leave", settings.pm_leave_start, settings.pm_leave_end))
    if row.clock_in is not None and row.clock_out is not None:
        drawn.append(Span("initial" if row.initial else "work", row.clock_in, row.clock_out))
    elif row.clock_in is not None:
        drawn.append(Span("missing", row.clock_in, row.clock_in + 30))
    drawn.extend(Span("break", start, end) for start, end in row.breaks)
    drawn.extend(Span("leave", start, end) for start, end in row.hourly_leaves)
    return drawn


def axis_end(rows: list[DayRow]) -> int:
    """The bar's axis in minutes: 24 hours, or longer in steps of 6 hours to hold the latest clock-out."""
    latest = max((row.clock_out or 0 for row in rows), default=0)
    return max(DAY, -(-latest // 360) * 360)


def state_counts(member_id: int, first: date, last: date) -> dict[DayState, int]:
    counts: dict[DayState, int] = defaultdict(int)
    for state, count in db.session.execute(
        select(TimesheetDay.state, func.count())
        .where(TimesheetDay.member_id == member_id, TimesheetDay.work_date.between(first, last))
        .group_by(TimesheetDay.state)
    ):
        counts[state] = count
    return counts
