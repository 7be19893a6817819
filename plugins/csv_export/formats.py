"""The three CSV formats of DESIGN.md: their header rows and the cells of each row, built as days arrive.

- ``crowdlog``: CrowdLog's attendance import, exactly; a pure function of the code, date, clock-in/out,
  breaks, leave kind and hourly leave, so an export re-imported and exported again is byte-identical.
- ``daily``: one row per member and day with names, department, minutes, man-hours, 差分, mark and source.
- ``monthly``: one row per member and month, aggregated while the days stream past (they arrive ordered by
  member, then date, so a month ends when the member or the month changes).

Cells are ints (written as numbers), our own formatted strings (dates, ``HH:MM``), or text from people,
which goes through :func:`text_cell`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from hub.exporters import ExportDay
from hub.forms import format_hhmm
from hub.records import LeaveKind
from hub.timesheets.marks import Mark
from hub_plugins.csv_export.cells import text_cell

CROWDLOG_HEADER = ("社員コード", "年月日", "出社", "退社", "休憩詳細", "日報", "ステータス", "休暇")
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
)
MONTHLY_HEADER = ("社員コード", "名前", "部署", "年月", "出勤日数", "勤務(分)", "休暇日数", "工数(分)", "差分(分)")

LEAVE_TEXT = {LeaveKind.NONE: "", LeaveKind.FULL: "全休", LeaveKind.AM: "午前休", LeaveKind.PM: "午後休"}
LEAVE_HALVES = {LeaveKind.NONE: 0, LeaveKind.FULL: 2, LeaveKind.AM: 1, LeaveKind.PM: 1}
MARKS = {Mark.MATCH: "✓", Mark.MISMATCH: "△", Mark.LEAVE: "☕", Mark.NONE: ""}
#: ✓ and ☕ do not exist in CP932: ○ (match) and 休 (full-day leave) stand in for them there.
CP932_MARKS = {Mark.MATCH: "○", Mark.MISMATCH: "△", Mark.LEAVE: "休", Mark.NONE: ""}

_DAY_MINUTES = 48 * 60
_HHMM = tuple(format_hhmm(minutes) for minutes in range(_DAY_MINUTES))  # looked up, not formatted, per cell
_INTERVAL_CACHE_SIZE = 4096
_interval_texts: dict[tuple[tuple[int, int], ...], str] = {}


def hhmm(minutes: int | None) -> str:
    """``HH:MM``, hours past 24 after midnight (``26:10``); empty when missing."""
    if minutes is None:
        return ""
    if 0 <= minutes < _DAY_MINUTES:
        return _HHMM[minutes]
    return format_hhmm(minutes)


def intervals_text(intervals: tuple[tuple[int, int], ...]) -> str:
    """``HH:MM-HH:MM`` per interval, joined by ``/``: 休憩詳細. Few patterns recur, so they are cached."""
    if not intervals:
        return ""
    text = _interval_texts.get(intervals)
    if text is None:
        if len(_interval_texts) >= _INTERVAL_CACHE_SIZE:
            _interval_texts.clear()  # bounded whatever the data
        text = _interval_texts[intervals] = "/".join(f"{hhmm(start)}-{hhmm(end)}" for start, end in intervals)
    return text


def leave_text(leave: LeaveKind, hourly_leaves: tuple[tuple[int, int], ...]) -> str:
    """休暇: empty, 全休, 午前休 or 午後休, then each 時間休(HH:MM-HH:MM), joined by ``/``."""
    text = LEAVE_TEXT[leave]
    if not hourly_leaves:
        return text
    hourly = "/".join(f"時間休({hhmm(start)}-{hhmm(end)})" for start, end in hourly_leaves)
    return f"{text}/{hourly}" if text else hourly


def crowdlog_cells(
    code: str,
    work_date: date,
    clock_in: int | None,
    clock_out: int | None,
    breaks: tuple[tuple[int, int], ...],
    leave: LeaveKind,
    hourly_leaves: tuple[tuple[int, int], ...],
) -> list:
    """One crowdlog row: 社員コード,年月日,出社,退社,休憩詳細,日報 (empty),ステータス (0),休暇."""
    return [
        text_cell(code),
        work_date.isoformat(),
        hhmm(clock_in),
        hhmm(clock_out),
        intervals_text(breaks),
        "",
        0,
        leave_text(leave, hourly_leaves),
    ]


def crowdlog_rows(days: Iterable[ExportDay], marks: dict[Mark, str]) -> Iterator[list]:
    for day in days:
        yield crowdlog_cells(
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
            hhmm(day.clock_in),
            hhmm(day.clock_out),
            intervals_text(day.breaks),
            day.work_minutes,
            day.break_minutes,
            leave_text(day.leave, hourly) if hourly else LEAVE_TEXT[day.leave],
            text_cell(day.leave_name) if day.leave_name else "",
            day.manhours,
            day.difference,
            marks[day.mark],
            source_text,
            stamp_text,
        ]


def _leave_days(halves: int) -> int | str:
    return halves // 2 if halves % 2 == 0 else f"{halves / 2:.1f}"


def monthly_rows(days: Iterable[ExportDay], marks: dict[Mark, str]) -> Iterator[list]:
    """Per member and month: 出勤日数 (days with a clock-in), 勤務, 休暇日数 (全休 1, 午前休/午後休 0.5), 工数,
    and 差分 = 勤務 − 工数 of the month, over the exported days."""
    key = None
    who: list = []
    month = ""
    worked = work = halves = manhours = 0
    for day in days:
        work_date = day.work_date
        current = (day.member_code, work_date.year, work_date.month)
        if current != key:
            if key is not None:
                yield [*who, month, worked, work, _leave_days(halves), manhours, work - manhours]
            if key is None or key[0] != day.member_code:
                who = [text_cell(day.member_code), text_cell(day.member_name), text_cell(day.department)]
            key = current
            month = f"{work_date.year:04d}-{work_date.month:02d}"
            worked = work = halves = manhours = 0
        if day.clock_in is not None:
            worked += 1
        work += day.work_minutes or 0
        halves += LEAVE_HALVES[day.leave]
        manhours += day.manhours
    if key is not None:
        yield [*who, month, worked, work, _leave_days(halves), manhours, work - manhours]


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
