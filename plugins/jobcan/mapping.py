"""Jobcan JSON → hub records, following "How the hub reads a day" in jobcan-api.md.

Pure functions, no I/O. Every Jobcan field name lives in the constants below; those marked *assumed* were
never seen in Jobcan's reference, so a customer holding the real one corrects them here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo

from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind, RemoteMember

# --- Employee (GET /master/v1/employees) ---
EMPLOYEE_ID = "id"  # known
EMPLOYEE_CODE = "employee_code"  # assumed (named after the single-employee path parameter)
EMPLOYEE_LAST_NAME = "last_name"  # known
EMPLOYEE_FIRST_NAME = "first_name"  # known
EMPLOYEE_RETIRED_DAY = "retired_day"  # assumed

# --- Daily summary (GET /attendance/v1/summaries/daily) ---
SUMMARY_EMPLOYEE_ID = "employee_id"  # known
SUMMARY_DATE = "date"  # known
SUMMARY_WORK = "work"  # known: worked minutes
SUMMARY_BREAK = "break"  # assumed: break minutes
SUMMARY_HOLIDAY = "holiday"  # assumed: null or a holiday object

# --- Holiday object inside a summary (all assumed) ---
HOLIDAY_TYPE = "type"  # assumed
HOLIDAY_NAME = "name"  # assumed: the leave type as the company named it (有休, 代休 …)
HOLIDAY_START = "start"  # assumed: "HH:MM", hourly leave only
HOLIDAY_END = "end"  # assumed: "HH:MM", hourly leave only
HOLIDAY_KINDS = {"full": LeaveKind.FULL, "am": LeaveKind.AM, "pm": LeaveKind.PM}  # assumed values
HOLIDAY_HOURLY = "hourly"  # assumed value: 時間休

# --- Clock punch (GET /attendance/v1/adits) ---
ADIT_EMPLOYEE_ID = "employee_id"  # known
ADIT_DATE = "date"  # assumed: the work date the punch belongs to
ADIT_RECORDED_AT = "recorded_at"  # known: ISO 8601 timestamp, offset assumed

_CLOCK_TIME = re.compile(r"(\d{1,2}):([0-5]\d)")


class MappingError(ValueError):
    """Jobcan sent data the hub cannot read; the message names the employee, the date and the value."""


def employee_to_member(employee: Mapping) -> RemoteMember:
    """A Jobcan employee as a hub ``RemoteMember``; a missing name part or staff code becomes empty."""
    remote_id = employee.get(EMPLOYEE_ID)
    if remote_id is None:
        raise MappingError(f"Jobcan employee without {EMPLOYEE_ID!r}: {dict(employee)!r}")
    code = employee.get(EMPLOYEE_CODE)
    parts = (employee.get(EMPLOYEE_LAST_NAME), employee.get(EMPLOYEE_FIRST_NAME))
    return RemoteMember(
        remote_id=str(remote_id),
        code="" if code is None else str(code),
        name=" ".join(str(part).strip() for part in parts if part and str(part).strip()),
        retired_on=_retired_on(remote_id, employee.get(EMPLOYEE_RETIRED_DAY)),
    )


def group_by_employee(items: Iterable[Mapping], key: str = ADIT_EMPLOYEE_ID) -> dict[str, list[Mapping]]:
    """Items keyed by ``str(item[key])``, keeping their order; for splitting a page of adits or summaries."""
    groups: dict[str, list[Mapping]] = {}
    for item in items:
        employee_id = item.get(key)
        if employee_id is None:
            raise MappingError(f"Jobcan item without {key!r}: {dict(item)!r}")
        groups.setdefault(str(employee_id), []).append(item)
    return groups


def day_record(
    employee_id: int | str,
    work_date: date,
    summary: Mapping | None,
    adits: Sequence[Mapping],
    tz: tzinfo,
) -> DayRecord | None:
    """One employee's work date as a ``DayRecord``, or None when Jobcan holds nothing worth syncing.

    ``adits`` are that employee's punches for ``work_date``; ``tz`` is the company time zone.
    """
    where = f"Jobcan employee {employee_id} on {work_date.isoformat()}"
    punches = _punch_minutes(where, work_date, adits, tz)
    work = _minutes(where, SUMMARY_WORK, summary.get(SUMMARY_WORK)) if summary is not None else None
    brk = _minutes(where, SUMMARY_BREAK, summary.get(SUMMARY_BREAK)) if summary is not None else None
    leave, leave_name, hourly = _leave(where, summary.get(SUMMARY_HOLIDAY) if summary is not None else None)

    if not ((work or 0) > 0 or punches or leave is not LeaveKind.NONE or hourly):
        return None
    return DayRecord(
        remote_id=str(employee_id),
        work_date=work_date,
        clock_in=punches[0] if punches else None,
        clock_out=punches[-1] if punches and len(punches) % 2 == 0 else None,
        # Out → next in: 2nd→3rd, 4th→5th …; with an odd count the final clock-in still ends the gap before it.
        breaks=tuple(Interval(punches[i], punches[i + 1]) for i in range(1, len(punches) - 1, 2)),
        work_minutes=work,
        break_minutes=brk,
        leave=leave,
        leave_name=leave_name,
        hourly_leaves=hourly,
        raw={"summary": None if summary is None else dict(summary), "adits": [dict(adit) for adit in adits]},
    )


def _punch_minutes(where: str, work_date: date, adits: Sequence[Mapping], tz: tzinfo) -> list[int]:
    """Punch times as wall-clock minutes from the work date's midnight (26:10 = 1570), in instant order."""
    instants = sorted(_instant(where, adit.get(ADIT_RECORDED_AT), tz) for adit in adits)
    minutes = []
    for instant in instants:
        local = instant.astimezone(tz)
        minutes.append((local.date() - work_date).days * 1440 + local.hour * 60 + local.minute)
    return minutes


def _instant(where: str, value: object, tz: tzinfo) -> datetime:
    """An ISO 8601 timestamp as an aware datetime; one without an offset is read in the company time zone."""
    # fromisoformat also takes a bare date (10 characters at most), which is no punch time.
    if not isinstance(value, str) or len(value) <= 10:
        raise MappingError(f"{where}: {ADIT_RECORDED_AT} is not a timestamp: {value!r}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(f"{where}: {ADIT_RECORDED_AT} is not a timestamp: {value!r}") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=tz)


def _minutes(where: str, field: str, value: object) -> int | None:
    """A duration in whole minutes, None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{where}: {field} is not a number of minutes: {value!r}")
    return value


def _leave(where: str, holiday: object) -> tuple[LeaveKind, str | None, tuple[HourlyLeave, ...]]:
    """The summary's holiday as (leave kind, leave name, hourly leaves)."""
    if holiday is None:
        return LeaveKind.NONE, None, ()
    if not isinstance(holiday, Mapping):
        raise MappingError(f"{where}: {SUMMARY_HOLIDAY} is not an object: {holiday!r}")
    kind, name = holiday.get(HOLIDAY_TYPE), holiday.get(HOLIDAY_NAME)
    if kind in HOLIDAY_KINDS:
        return HOLIDAY_KINDS[kind], name, ()
    if kind == HOLIDAY_HOURLY:
        start = _clock_time(where, HOLIDAY_START, holiday.get(HOLIDAY_START))
        end = _clock_time(where, HOLIDAY_END, holiday.get(HOLIDAY_END))
        if end <= start:
            raise MappingError(f"{where}: hourly leave ends before it starts: {dict(holiday)!r}")
        return LeaveKind.NONE, None, (HourlyLeave(start, end, name),)
    raise MappingError(f"{where}: unknown {SUMMARY_HOLIDAY} {HOLIDAY_TYPE} {kind!r}")


def _clock_time(where: str, field: str, value: object) -> int:
    """An ``HH:MM`` clock time as minutes from midnight; hours past 24 are allowed for night shifts."""
    match = _CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise MappingError(f"{where}: hourly leave {field} is not HH:MM: {value!r}")
    return int(match[1]) * 60 + int(match[2])


def _retired_on(employee_id: object, value: object) -> date | None:
    """The retirement date, None when the employee has not retired."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise MappingError(f"Jobcan employee {employee_id}: {EMPLOYEE_RETIRED_DAY} is not a date: {value!r}") from None
