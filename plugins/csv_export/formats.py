"""The three CSV formats of DESIGN.md: their header rows and the cells of each row, built as days arrive.

- ``crowdlog``: CrowdLog's attendance import, exactly; a pure function of the code, date, clock-in/out,
  breaks, leave kind and hourly leave, so an export re-imported and exported again is byte-identical.
- ``daily``: one row per member and day with names, department, minutes, man-hours, 差分, mark, source and the
  provider's payroll minutes (残業, 深夜, 遅刻早退).
- ``monthly``: one row per member and month, aggregated while the days stream past (they arrive ordered by
  member, then date, so a month ends when the member or the month changes); payroll minutes also as H:MM.

Payroll minutes a provider did not say are empty cells, never 0; 遅刻早退 and the month's sums add what is
known (:func:`hub.marks.known_sum`). They come last, so the columns before them keep their places.

Cells are ints (written as numbers), our own formatted strings (dates, ``HH:MM``), or text from people,
which goes through :func:`text_cell`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from hub.cells import text_cell
from hub.crowdlog import HEADER as CROWDLOG_HEADER
from hub.crowdlog import LEAVE_WORDS, clock_text, intervals_text, leave_text, row_cells
from hub.exporters import ExportDay
from hub.forms import format_duration
from hub.marks import Mark, MonthTotals, known_sum

DAILY_HEADER = (
    "社員コード",
    "名前",
    "部署",
    "年月日",
    "出社",
    "退社",
    "休憩詳細",
    "勤務(分)",
    "休憩(分)",
    "休暇",
    "休暇名",
    "工数(分)",
    "差分(分)",
    "判定",
    "取込元",
    "同期日時",
    "残業(分)",
    "深夜(分)",
    "遅刻早退(分)",
)
MONTHLY_HEADER = (
    "社員コード",
    "名前",
    "部署",
    "年月",
    "出勤日数",
    "勤務(分)",
    "休暇日数",
    "工数(分)",
    "差分(分)",
    "残業(分)",
    "残業(H:MM)",
    "深夜(分)",
    "深夜(H:MM)",
    "遅刻早退(分)",
    "遅刻早退(H:MM)",
)

MARKS = {Mark.MATCH: "✓", Mark.MISMATCH: "△", Mark.LEAVE: "☕", Mark.NONE: ""}
#: ✓ and ☕ do not exist in CP932: ○ (match) and 休 (full-day leave) stand in for them there.
CP932_MARKS = {Mark.MATCH: "○", Mark.MISMATCH: "△", Mark.LEAVE: "休", Mark.NONE: ""}


def crowdlog_rows(days: Iterable[ExportDay], marks: dict[Mark, str]) -> Iterator[list]:
    for day in days:
        yield row_cells(
            day.member_code, day.work_date, day.clock_in, day.clock_out, day.breaks, day.leave, day.hourly_leaves
        )


def daily_rows(days: Iterable[ExportDay], marks: dict[Mark, str]) -> Iterator[list]:
    # The hot loop of a million-row export: per-member and per-source cells are made once, not per day.
    member = None
    who: list = []
    stamp: datetime | None = None
    stamp_text = ""
    source: str | None = None
    source_text = ""
    for day in days:
        if day.member_code != member:
            member = day.member_code
            who = [text_cell(day.member_code), text_cell(day.member_name), text_cell(day.department)]
        if day.synced_at is not stamp:  # the core hands out one object per sync stamp
            stamp = day.synced_at
            stamp_text = stamp.strftime("%Y-%m-%d %H:%M:%S") if stamp is not None else ""
        where = day.integration or day.source_file
        if where is not source:
            source, source_text = where, text_cell(where)
        hourly = day.hourly_leaves
        yield [
            *who,
            day.work_date.isoformat(),
            clock_text(day.clock_in),
            clock_text(day.clock_out),
            intervals_text(day.breaks),
            day.work_minutes,
            day.break_minutes,
            leave_text(day.leave, hourly) if hourly else LEAVE_WORDS[day.leave],
            text_cell(day.leave_name) if day.leave_name else "",
            day.manhours,
            day.difference,
            marks[day.mark],
            source_text,
            stamp_text,
            day.overtime_minutes,
            day.late_night_minutes,
            known_sum(day.late_minutes, day.early_leave_minutes),
        ]


def _leave_days(halves: int) -> int | str:
    return halves // 2 if halves % 2 == 0 else f"{halves / 2:.1f}"


def _month_cells(who: list, month: str, totals: MonthTotals) -> list:
    leave_days = _leave_days(totals.leave_half_days)
    overtime, late_night, late_early = totals.overtime, totals.late_night, totals.late_early
    return [
        *who,
        month,
        totals.days_worked,
        totals.work,
        leave_days,
        totals.manhours,
        totals.difference,
        overtime,
        format_duration(overtime),
        late_night,
        format_duration(late_night),
        late_early,
        format_duration(late_early),
    ]


def monthly_rows(days: Iterable[ExportDay], marks: dict[Mark, str]) -> Iterator[list]:
    """Per member and month, over the exported days (days with attendance, so man-hours booked on a day without
    attendance are not in it): :class:`hub.marks.MonthTotals` — 出勤日数, 勤務, 休暇日数 (全休 1, 午前休/午後休
    0.5), 工数, 差分 = 勤務 − 工数, and 残業, 深夜, 遅刻早退 in minutes and as H:MM (empty when no day said them)."""
    key = None
    who: list = []
    month = ""
    totals = MonthTotals()
    add, add_payroll = totals.add, totals.add_payroll
    for day in days:
        work_date = day.work_date
        current = (day.member_code, work_date.year, work_date.month)
        if current != key:
            if key is not None:
                yield _month_cells(who, month, totals)
            if key is None or key[0] != day.member_code:
                who = [text_cell(day.member_code), text_cell(day.member_name), text_cell(day.department)]
            key = current
            month = f"{work_date.year:04d}-{work_date.month:02d}"
            totals = MonthTotals()
            add, add_payroll = totals.add, totals.add_payroll
        add(day.manhours, day.mark, day.work_minutes, day.clock_in, day.leave)
        add_payroll(day.overtime_minutes, day.late_night_minutes, day.late_minutes, day.early_leave_minutes)
    if key is not None:
        yield _month_cells(who, month, totals)


@dataclass(frozen=True)
class CsvFormat:
    name: str
    header: tuple[str, ...]
    rows: Callable[[Iterable[ExportDay], dict[Mark, str]], Iterator[list]]
    #: The member's texts the format writes (checked against the encoding on the member's first day).
    member_fields: tuple[str, ...]


_WHO = ("member_code", "member_name", "department")
FORMATS = {
    "crowdlog": CsvFormat("crowdlog", CROWDLOG_HEADER, crowdlog_rows, ("member_code",)),
    "daily": CsvFormat("daily", DAILY_HEADER, daily_rows, _WHO),
    "monthly": CsvFormat("monthly", MONTHLY_HEADER, monthly_rows, _WHO),
}
