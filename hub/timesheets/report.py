"""レポート: every member's marks for a month, and who has mismatches to fix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select

from hub.extensions import db
from hub.models import AttendanceDay, Member, Settings, TimeEntry
from hub.records import LeaveKind
from hub.timesheets.days import DayRow, fill_initial, members_with_attendance, month_bounds
from hub.timesheets.marks import Mark, mark


@dataclass(slots=True)
class MemberMonth:
    member: Member
    marks: list[Mark] = field(default_factory=list)
    work: int = 0
    manhours: int = 0

    @property
    def mismatches(self) -> int:
        return sum(1 for mark in self.marks if mark is Mark.MISMATCH)


def departments() -> list[str]:
    return list(
        db.session.scalars(
            select(Member.department).where(Member.department.is_not(None)).distinct().order_by(Member.department)
        )
    )


def month_report(
    month: date, settings: Settings, department: str | None = None
) -> tuple[list[date], list[MemberMonth]]:
    """The month's dates and, per member active in it, the mark of each date; most mismatches first."""
    first, last = month_bounds(month)
    query = select(Member).where(
        or_(Member.start_date.is_(None), Member.start_date <= last),
        or_(Member.end_date.is_(None), Member.end_date >= first),
    )
    if department:
        query = query.where(Member.department == department)
    members = db.session.scalars(query.order_by(Member.code)).all()
    ids = [member.id for member in members]
    attendance: dict[int, dict[date, tuple]] = defaultdict(dict)
    manhours: dict[int, dict[date, int]] = defaultdict(dict)
    connection = db.session.connection()  # Core rows: the ORM's row processing doubled the page time
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        for member_id, work_date, work, leave, clock_in, clock_out in connection.execute(
            select(
                AttendanceDay.member_id,
                AttendanceDay.work_date,
                AttendanceDay.work_minutes,
                AttendanceDay.leave,
                AttendanceDay.clock_in,
                AttendanceDay.clock_out,
            ).where(AttendanceDay.member_id.in_(chunk), AttendanceDay.work_date.between(first, last))
        ):
            missing_clock_out = clock_in is not None and clock_out is None
            attendance[member_id][work_date] = (None if missing_clock_out else work, leave)
        for member_id, work_date, minutes in connection.execute(
            select(TimeEntry.member_id, TimeEntry.work_date, func.sum(TimeEntry.minutes))
            .where(TimeEntry.member_id.in_(chunk), TimeEntry.work_date.between(first, last))
            .group_by(TimeEntry.member_id, TimeEntry.work_date)
        ):
            manhours[member_id][work_date] = int(minutes or 0)
    synced = members_with_attendance(ids)
    dates = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    weekdays = [day.weekday() < 5 for day in dates]
    initial = DayRow(first)
    fill_initial(initial, settings)
    threshold = settings.mismatch_threshold
    report = []
    for member in members:
        result = MemberMonth(member)
        days, booked = attendance.get(member.id, {}), manhours.get(member.id, {})
        before_sync = member.id not in synced
        for work_date, weekday in zip(dates, weekdays, strict=True):
            minutes = booked.get(work_date, 0)
            stored = days.get(work_date)
            if stored is not None:
                work, leave = stored
                result.marks.append(mark(work, minutes, leave, threshold))
                result.work += work or 0
            elif minutes and before_sync and weekday:  # an initial value, judged once man-hours are booked
                result.marks.append(mark(initial.work_minutes, minutes, LeaveKind.NONE, threshold))
            elif minutes:
                result.marks.append(mark(None, minutes, LeaveKind.NONE, threshold, has_attendance=False))
            else:
                result.marks.append(Mark.NONE)
            result.manhours += minutes
        report.append(result)
    report.sort(key=lambda item: (-item.mismatches, item.member.code))
    return dates, report
