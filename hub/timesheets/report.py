"""レポート: every member's marks for a month, and who has mismatches to fix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select

from hub.chunks import chunks
from hub.extensions import db
from hub.marks import Mark, MonthTotals, judge_day
from hub.models import AttendanceDay, Member, Settings, TimeEntry
from hub.records import LeaveKind
from hub.timesheets.days import DayRow, fill_initial, members_with_attendance, month_bounds, shows_initial_values


@dataclass(slots=True)
class MemberMonth:
    member: Member
    marks: list[Mark] = field(default_factory=list)
    totals: MonthTotals = field(default_factory=MonthTotals)

    @property
    def mismatches(self) -> int:
        return self.totals.mismatches


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
    for chunk in chunks(ids):
        for member_id, work_date, *day in connection.execute(
            select(
                AttendanceDay.member_id,
                AttendanceDay.work_date,
                AttendanceDay.clock_in,
                AttendanceDay.clock_out,
                AttendanceDay.work_minutes,
                AttendanceDay.leave,
            ).where(AttendanceDay.member_id.in_(chunk), AttendanceDay.work_date.between(first, last))
        ):
            attendance[member_id][work_date] = day
        for member_id, work_date, minutes in connection.execute(
            select(TimeEntry.member_id, TimeEntry.work_date, func.sum(TimeEntry.minutes))
            .where(TimeEntry.member_id.in_(chunk), TimeEntry.work_date.between(first, last))
            .group_by(TimeEntry.member_id, TimeEntry.work_date)
        ):
            manhours[member_id][work_date] = int(minutes or 0)
    synced = members_with_attendance(ids)
    dates = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    initial = DayRow(first)
    fill_initial(initial, settings)
    threshold = settings.mismatch_threshold
    # Most cells are dates with neither attendance nor man-hours: judged once here, they count for nothing.
    nothing = judge_day(None, None, None, LeaveKind.NONE, 0, threshold, has_attendance=False).mark
    judge = judge_day
    report = []
    for member in members:
        result = MemberMonth(member)
        marks, add = result.marks, result.totals.add
        days, booked = attendance.get(member.id, {}), manhours.get(member.id, {})
        before_sync = member.id not in synced
        for work_date in dates:
            minutes = booked.get(work_date, 0)
            stored = days.get(work_date)
            if stored is not None:
                clock_in, clock_out, work, leave = stored
                work, _difference, mark = judge(clock_in, clock_out, work, leave, minutes, threshold)
                add(minutes, mark, work, clock_in, leave)
            elif not minutes:
                mark = nothing
            else:
                if shows_initial_values(work_date, before_sync):
                    mark = judge(
                        initial.clock_in,
                        initial.clock_out,
                        initial.work_minutes,
                        LeaveKind.NONE,
                        minutes,
                        threshold,
                        initial=True,
                    ).mark
                else:
                    mark = judge(None, None, None, LeaveKind.NONE, minutes, threshold, has_attendance=False).mark
                add(minutes, mark, has_attendance=False)
            marks.append(mark)
        report.append(result)
    report.sort(key=lambda item: (-item.mismatches, item.member.code))
    return dates, report
