"""The 工数/勤怠 check: does the time a member booked on projects agree with the time they worked?

The seed's setting 工数と勤怠の一致 reads "show the error mark when the difference is N minutes or more",
so a day matches (✓) when |勤務 − 工数| is under the threshold (or zero), differs (△) otherwise, and a
full-day leave is ☕ whatever was booked. A day with neither attendance nor man-hours has no mark.
"""

from __future__ import annotations

from enum import StrEnum

from hub.records import LeaveKind


class Mark(StrEnum):
    MATCH = "✓"
    MISMATCH = "△"
    LEAVE = "☕"
    NONE = ""


def difference(work_minutes: int | None, manhours: int) -> int | None:
    """差分 = 勤務 − 工数: positive when worked time is not yet booked; ``None`` without a work time."""
    if work_minutes is None:
        return None
    return work_minutes - manhours


def mark(
    work_minutes: int | None,
    manhours: int,
    leave: LeaveKind | str | None,
    threshold: int,
    *,
    has_attendance: bool = True,
) -> Mark:
    """The day's mark. Without attendance, booked man-hours compare against zero work; a day with
    attendance but no work time (a missing clock-out) cannot match."""
    if leave == LeaveKind.FULL:
        return Mark.LEAVE
    if not has_attendance:
        if not manhours:
            return Mark.NONE
        work_minutes = 0
    if work_minutes is None:
        return Mark.MISMATCH
    gap = abs(work_minutes - manhours)
    return Mark.MATCH if gap == 0 or gap < threshold else Mark.MISMATCH
