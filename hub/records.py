"""The normalized records a provider hands to the core.

Times are minutes from the work date's midnight in the company time zone, so 02:10 the next morning is
1,570 (26:10). The core stores, matches and validates these; a provider only produces them. A day the
provider cannot read is handed over as a :class:`RejectedRecord`: the core reports it and writes the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class LeaveKind(StrEnum):
    """How much of a work day is taken as leave (休暇)."""

    NONE = "none"
    FULL = "full"  # 全休
    AM = "am"  # 午前休
    PM = "pm"  # 午後休


@dataclass(frozen=True, slots=True)
class Interval:
    """A span of minutes from the work date's midnight, ``start`` inclusive, ``end`` exclusive."""

    start: int
    end: int

    @property
    def minutes(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class HourlyLeave:
    """An hourly leave (時間休), kept as its own interval rather than merged into breaks."""

    start: int
    end: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteMember:
    """An employee as the provider knows them; ``code`` is matched against the member's 社員コード."""

    remote_id: str
    code: str
    name: str
    retired_on: date | None = None


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One employee's attendance on one work date, as the provider reports it."""

    remote_id: str
    work_date: date
    clock_in: int | None = None
    clock_out: int | None = None
    breaks: tuple[Interval, ...] = ()
    work_minutes: int | None = None
    break_minutes: int | None = None
    leave: LeaveKind = LeaveKind.NONE
    leave_name: str | None = None
    hourly_leaves: tuple[HourlyLeave, ...] = ()
    # Payroll totals as the provider computed them, in minutes; None when it does not say (not 0).
    overtime_minutes: int | None = None  # 残業
    late_night_minutes: int | None = None  # 深夜
    late_minutes: int | None = None  # 遅刻
    early_leave_minutes: int | None = None  # 早退
    # What the provider sent for the day, stored as it came: decoded JSON, or its JSON text as UTF-8 bytes, which
    # the core stores without decoding or encoding it again (a compact text is far smaller than decoded dicts,
    # and a sync holds tens of thousands of days). Empty (``{}`` or ``b""``): nothing is stored.
    raw: Mapping | bytes = field(default_factory=dict, compare=False, repr=False)

    @property
    def missing_clock_out(self) -> bool:
        """Clocked in but never out (an odd number of punches)."""
        return self.clock_in is not None and self.clock_out is None


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A day the provider returned but cannot read: reported as a rejected issue and skipped, never stored.

    ``field`` names the offending field as the provider's API calls it (``holiday.type``), ``value`` is what
    came (as text, e.g. ``'sabbatical'``), ``reason`` says in a few words what is wrong with it, in the admin's
    language: a ``flask_babel.lazy_gettext`` string, which the core renders when it writes the issue (a provider
    that maps in threads has no app context to translate in). ``work_date`` is ``None`` when the fault is not one
    day's:
    the core then keeps every stored day of that employee in the period. A stored day the provider now
    rejects stays as it was.
    """

    remote_id: str
    work_date: date | None
    field: str
    value: str
    reason: str
