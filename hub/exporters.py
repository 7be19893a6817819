"""What an exporter plugin implements: a named format that streams attendance days into a binary stream.

The core runs the query and hands the exporter one :class:`ExportDay` per member and day that has
attendance in the period, ordered by employee code then date; the exporter formats and writes them as they
come. Exports reach a million rows, so neither side ever holds them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, ClassVar

from hub.marks import Mark
from hub.records import LeaveKind


class ExportError(Exception):
    """The export cannot be written as asked (e.g. a name the chosen encoding cannot hold)."""


@dataclass(slots=True)
class ExportDay:
    """One member's attendance on one work date, as an exporter receives it.

    Times are minutes from the work date's midnight in the company time zone (1,570 is 26:10, the next
    morning); ``breaks`` and ``hourly_leaves`` are ``(start, end)`` pairs in time order. ``manhours`` is the
    sum of the man-hours (工数) booked that day; ``work_minutes``, ``difference`` and ``mark`` are the day as
    :func:`hub.marks.judge_day` judges it for the timesheet (no work time without a clock-out, 差分, ✓/△/☕ with
    the settings' threshold). ``integration`` is the name of the integration the day was synced
    from, ``source_file`` the CSV it was imported from; ``synced_at`` is in the company time zone.

    ``overtime_minutes`` (残業), ``late_night_minutes`` (深夜), ``late_minutes`` (遅刻) and ``early_leave_minutes``
    (早退) are the provider's payroll totals of the day, None when it did not say (not 0); add them with
    :func:`hub.marks.known_sum` and :meth:`hub.marks.MonthTotals.add_payroll`.
    """

    member_code: str
    member_name: str
    department: str | None
    work_date: date
    clock_in: int | None
    clock_out: int | None
    breaks: tuple[tuple[int, int], ...]
    work_minutes: int | None
    break_minutes: int | None
    leave: LeaveKind
    leave_name: str | None
    hourly_leaves: tuple[tuple[int, int], ...]
    manhours: int
    difference: int | None
    mark: Mark
    integration: str | None
    source_file: str | None
    synced_at: datetime | None
    overtime_minutes: int | None = None
    late_night_minutes: int | None = None
    late_minutes: int | None = None
    early_leave_minutes: int | None = None


class Exporter(ABC):
    """A file format the hub can export attendance in."""

    name: ClassVar[str]
    label: ClassVar[str]
    media_type: ClassVar[str] = "text/csv"
    file_extension: ClassVar[str] = "csv"
    #: A Flask-WTF form class with the exporter's own options, or ``None``.
    options_form: ClassVar[type | None] = None

    @abstractmethod
    def write(self, rows: Iterable[ExportDay], stream: BinaryIO, options: Mapping[str, Any]) -> None:
        """Write ``rows`` to ``stream`` as they come, without holding them all in memory."""

    def content_type(self, options: Mapping[str, Any]) -> str:
        """The download's Content-Type for these options (e.g. with the charset the options chose)."""
        return self.media_type

    def file_label(self, options: Mapping[str, Any]) -> str:
        """The part of the download's file name that says what it holds (``kintai_<label>_<from>_<to>``)."""
        return self.name
