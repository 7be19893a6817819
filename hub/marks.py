"""The 工数/勤怠 check: does the time a member booked on projects agree with the time they worked?

This is the one home of the day judgement. The タイムシート (month and day pages), the レポート and every export
call :func:`judge_day`; nothing else computes a work time to compare, a difference or a mark.

The seed's setting 工数と勤怠の一致 reads "show the error mark when the difference is N minutes or more", so a
day matches (✓) when |勤務 − 工数| is under the threshold (or zero), differs (△) otherwise, and a full-day
leave is ☕ whatever was booked. A day with neither attendance nor man-hours has no mark. A clock-in without a
clock-out (or a clock-out without a clock-in) has no work time, whatever minutes the provider reported, so it
is never ✓; a day with no clock at all (leave only) counts the minutes the provider reported.

Plugins may import this module (``Mark`` is a field of :class:`hub.exporters.ExportDay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from hub.records import LeaveKind


class Mark(StrEnum):
    MATCH = "✓"
    MISMATCH = "△"
    LEAVE = "☕"
    NONE = ""


class Judgement(NamedTuple):
    """What a day counts as: its work time (``None`` when there is none to count), 差分 and mark."""

    work_minutes: int | None
    difference: int | None
    mark: Mark


# Module constants and tuple.__new__: judge_day runs once per day of every page and export (a million times
# for a large export), and enum attribute lookups and the named tuple's own __new__ were half its time.
_FULL = LeaveKind.FULL
_MATCH, _MISMATCH, _LEAVE, _NO_MARK = Mark.MATCH, Mark.MISMATCH, Mark.LEAVE, Mark.NONE
_judgement = tuple.__new__
_NOTHING = Judgement(None, None, _NO_MARK)


def judge_day(
    clock_in: int | None,
    clock_out: int | None,
    work_minutes: int | None,
    leave: LeaveKind | str | None,
    manhours: int,
    threshold: int,
    has_attendance: bool = True,
    initial: bool = False,
) -> Judgement:
    """Judge one member's day.

    ``has_attendance`` is false for a date nothing was synced or imported for; ``initial`` marks the settings'
    default 出社/退社 shown before a member's first sync (a suggestion, judged only once man-hours are booked
    against it). ``manhours`` is the day's booked minutes on all projects; ``threshold`` the 工数と勤怠の一致
    setting. The work time counted is ``work_minutes``, or none when only one of the two clocks is there.
    """
    if initial:
        if not manhours:
            return _judgement(Judgement, (work_minutes, None, _NO_MARK))
    elif not has_attendance:
        # Man-hours on a day without attendance compare against no work at all.
        if not manhours:
            return _NOTHING
        return _judgement(Judgement, (None, -manhours, _MATCH if manhours < threshold else _MISMATCH))
    elif (clock_in is None) is not (clock_out is None):  # a clock-in without a clock-out, or the other way round
        work_minutes = None
    if work_minutes is None:
        return _judgement(Judgement, (None, None, _LEAVE if leave == _FULL else _MISMATCH))
    difference = work_minutes - manhours
    if leave == _FULL:
        return _judgement(Judgement, (work_minutes, difference, _LEAVE))
    gap = difference if difference >= 0 else -difference
    return _judgement(Judgement, (work_minutes, difference, _MATCH if gap == 0 or gap < threshold else _MISMATCH))


def known_sum(first: int | None, second: int | None) -> int | None:
    """Two payroll minute counts added where known: None + None is None (nobody said), None + x is x.

    The one rule for 遅刻早退 (遅刻 + 早退 of a day) and for a month's payroll totals: a provider that does not
    say a value does not make a total 0, and one that says it for some days counts those.
    """
    if first is None:
        return second
    if second is None:
        return first
    return first + second


#: Leave counted in half days: 全休 is one day, 午前休 and 午後休 half a day each.
LEAVE_HALF_DAYS = {LeaveKind.NONE: 0, LeaveKind.FULL: 2, LeaveKind.AM: 1, LeaveKind.PM: 1}


@dataclass(slots=True)
class MonthTotals:
    """A member's month summed over judged days: the timesheet's totals row and the monthly export's row.

    ``days_worked`` counts days with a clock-in (出勤日数), ``leave_half_days`` leave in half days,
    ``mismatches`` the △ days; ``difference`` is 勤務 − 工数 of the days added. ``overtime`` (残業),
    ``late_night`` (深夜) and ``late_early`` (遅刻 + 早退) are the provider's payroll minutes summed by
    :func:`known_sum`: None while no day added said them.
    """

    days_worked: int = 0
    work: int = 0
    manhours: int = 0
    leave_half_days: int = 0
    mismatches: int = 0
    overtime: int | None = None
    late_night: int | None = None
    late_early: int | None = None

    def add(
        self,
        manhours: int,
        mark: Mark,
        work_minutes: int | None = None,
        clock_in: int | None = None,
        leave: LeaveKind = LeaveKind.NONE,
        has_attendance: bool = True,
    ) -> None:
        """Count one judged day (``work_minutes`` and ``mark`` as :func:`judge_day` gave them); a day without
        attendance (initial values included) adds only its man-hours and mark."""
        self.manhours += manhours
        if mark is _MISMATCH:
            self.mismatches += 1
        if not has_attendance:
            return
        if clock_in is not None:
            self.days_worked += 1
        self.work += work_minutes or 0
        self.leave_half_days += LEAVE_HALF_DAYS[leave]

    def add_payroll(
        self, overtime: int | None, late_night: int | None, late: int | None, early_leave: int | None
    ) -> None:
        """Count one day's payroll minutes as the provider said them (None: not said)."""
        self.overtime = known_sum(self.overtime, overtime)
        self.late_night = known_sum(self.late_night, late_night)
        self.late_early = known_sum(self.late_early, known_sum(late, early_leave))

    @property
    def difference(self) -> int:
        return self.work - self.manhours

    @property
    def leave_days(self) -> float:
        return self.leave_half_days / 2
