"""Jobcan JSON → hub records, following "How the hub reads a day" in jobcan-api.md.

Pure functions, no I/O. Every Jobcan name the hub reads or sends lives in the constants below — fields, list
wrappers, paging parameters, the refresh call's body and answer, the error body; those marked *assumed* were
never seen in Jobcan's reference, so a customer holding the real one corrects them here and nowhere else.

A day whose data the mapping cannot read (an unknown leave type, a malformed time) becomes a
:class:`~hub.records.RejectedRecord` naming the field and the value: the core reports it and syncs the rest.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo

from hub.providers import ProviderError
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind, RejectedRecord, RemoteMember
from hub_plugins.jobcan.catalog import _, _l

log = logging.getLogger(__name__)

# --- Lists and paging (every list endpoint) ---
PAGE_AFTER = "last_id"  # known: the last id of the previous page
PAGE_COUNT = "count"  # known: ids per page, 1–100
PAGE_SIZE = 100  # known: the largest page
EMPLOYEES = "employees"  # known: the list in GET /master/v1/employees
DAILY_SUMMARIES = "daily_summaries"  # known: the list in GET /attendance/v1/summaries/daily
ADITS = "adits"  # known: the list in GET /attendance/v1/adits
DATE_PARAMETER = "date"  # known: the work date asked for

# --- Employee (GET /master/v1/employees) ---
EMPLOYEE_ID = "id"  # known
EMPLOYEE_CODE = "employee_code"  # assumed (named after the single-employee path parameter)
EMPLOYEE_LAST_NAME = "last_name"  # known
EMPLOYEE_FIRST_NAME = "first_name"  # known
EMPLOYEE_RETIRED_DAY = "retired_day"  # assumed

# --- Daily summary (GET /attendance/v1/summaries/daily) ---
SUMMARY_EMPLOYEE_ID = "employee_id"  # known
SUMMARY_WORK = "work"  # known: worked minutes
SUMMARY_BREAK = "break"  # assumed: break minutes
SUMMARY_HOLIDAY = "holiday"  # assumed: null or a holiday object
SUMMARY_OVER_WORK = "over_work"  # assumed: overtime minutes (残業)
SUMMARY_NIGHT_WORK = "night_work"  # assumed: late-night minutes (深夜)
# No late (遅刻) or early-leave (早退) minutes in the summary: those stay None (not said).

# --- Holiday object inside a summary (all assumed) ---
HOLIDAY_TYPE = "type"  # assumed
HOLIDAY_NAME = "name"  # assumed: the leave type as the company named it (有休, 代休 …)
HOLIDAY_START = "start"  # assumed: "HH:MM", hourly leave only
HOLIDAY_END = "end"  # assumed: "HH:MM", hourly leave only
HOLIDAY_KINDS = {"full": LeaveKind.FULL, "am": LeaveKind.AM, "pm": LeaveKind.PM}  # assumed values
HOLIDAY_HOURLY = "hourly"  # assumed value: 時間休

# --- Clock punch (GET /attendance/v1/adits) ---
ADIT_EMPLOYEE_ID = "employee_id"  # known
ADIT_RECORDED_AT = "recorded_at"  # known: ISO 8601 timestamp, offset assumed

# --- Recalculating summaries (POST /attendance/v1/summaries/daily/{id}/refresh) ---
REFRESH_FROM = "from"  # known: first date, in {"conditions": {"range": {…}}}
REFRESH_TO = "to"  # known: the day after the last date (half-open)
REFRESH = "refresh"  # known: the answer's object
REFRESH_STATUS = "status"  # known
REFRESH_PROCESSING = "processing"  # assumed: still recalculating, ask again; "finished" when done

# --- Error body ---
ERRORS = "errors"  # assumed: [{"code": …, "message": …}]
ERROR_CODE = "code"  # assumed
ERROR_MESSAGE = "message"  # assumed

_CLOCK_TIME = re.compile(r"(\d{1,2}):([0-5]\d)")


class MappingError(ProviderError):
    """Jobcan sent something the sync cannot go on without (an employee without an id)."""


class _Unreadable(Exception):
    """One day's value the mapping cannot read: ``field`` as Jobcan names it, the ``value``, and why.

    The reason is a lazy string: the provider maps in worker threads without the app's context, and the core
    renders it in the admin's language when it writes the issue.
    """

    def __init__(self, field: str, value: object, reason: str):
        super().__init__(field)
        self.field, self.value, self.reason = field, value, reason


def refresh_body(start: date, end_exclusive: date) -> dict:
    """The body asking Jobcan to recalculate summaries of ``start`` ≤ date < ``end_exclusive``."""
    return {"conditions": {"range": {REFRESH_FROM: start.isoformat(), REFRESH_TO: end_exclusive.isoformat()}}}


def refresh_processing(answer: Mapping) -> bool:
    """Whether a refresh answer says Jobcan is still recalculating."""
    return str((answer.get(REFRESH) or {}).get(REFRESH_STATUS) or "finished") == REFRESH_PROCESSING


def error_detail(body: object) -> str:
    """The messages of an error body, joined; empty when it has none."""
    errors = body.get(ERRORS) if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        str(error.get(ERROR_MESSAGE) or error.get(ERROR_CODE)) for error in errors if isinstance(error, Mapping)
    )


def employee_to_member(employee: Mapping) -> RemoteMember:
    """A Jobcan employee as a hub ``RemoteMember``; a missing name part or staff code becomes empty."""
    remote_id = employee.get(EMPLOYEE_ID)
    if remote_id is None:
        raise MappingError(
            _("Jobcan sent an employee without an %(field)s; the employees cannot be told apart.", field=EMPLOYEE_ID)
        )
    code = employee.get(EMPLOYEE_CODE)
    parts = (employee.get(EMPLOYEE_LAST_NAME), employee.get(EMPLOYEE_FIRST_NAME))
    return RemoteMember(
        remote_id=str(remote_id),
        code="" if code is None else str(code),
        name=" ".join(str(part).strip() for part in parts if part and str(part).strip()),
        retired_on=_retired_on(remote_id, employee.get(EMPLOYEE_RETIRED_DAY)),
    )


def group_by_employee(items: Iterable[Mapping], key: str = ADIT_EMPLOYEE_ID) -> dict[str, list[Mapping]]:
    """Items keyed by ``str(item[key])``, keeping their order; items without the key are left out."""
    groups: dict[str, list[Mapping]] = {}
    for item in items:
        employee_id = item.get(key)
        if employee_id is not None:
            groups.setdefault(str(employee_id), []).append(item)
    return groups


def day_record(
    employee_id: int | str,
    work_date: date,
    summary: Mapping | None,
    adits: Sequence[Mapping],
    tz: tzinfo,
) -> DayRecord | RejectedRecord | None:
    """One employee's work date as a ``DayRecord``, a ``RejectedRecord`` naming the value it cannot read, or
    None when Jobcan holds nothing worth syncing.

    ``adits`` are that employee's punches for ``work_date``; ``tz`` is the company time zone.
    """
    try:
        return _read_day(str(employee_id), work_date, summary, adits, tz)
    except _Unreadable as unreadable:
        return RejectedRecord(
            remote_id=str(employee_id),
            work_date=work_date,
            field=unreadable.field,
            value=_value_text(unreadable.value),
            reason=unreadable.reason,
        )


def _read_day(
    employee_id: str, work_date: date, summary: Mapping | None, adits: Sequence[Mapping], tz: tzinfo
) -> DayRecord | None:
    punches = _punch_minutes(work_date, adits, tz)
    work = _minutes(SUMMARY_WORK, summary.get(SUMMARY_WORK)) if summary is not None else None
    brk = _minutes(SUMMARY_BREAK, summary.get(SUMMARY_BREAK)) if summary is not None else None
    overtime = _minutes(SUMMARY_OVER_WORK, summary.get(SUMMARY_OVER_WORK)) if summary is not None else None
    night = _minutes(SUMMARY_NIGHT_WORK, summary.get(SUMMARY_NIGHT_WORK)) if summary is not None else None
    leave, leave_name, hourly = _leave(summary.get(SUMMARY_HOLIDAY) if summary is not None else None)

    if not ((work or 0) > 0 or punches or leave is not LeaveKind.NONE or hourly):
        return None
    return DayRecord(
        remote_id=employee_id,
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
        overtime_minutes=overtime,
        late_night_minutes=night,
        # The provider's decoded JSON as received, not copied: a sync holds tens of thousands of these.
        raw={"summary": summary, "adits": list(adits)},
    )


def _punch_minutes(work_date: date, adits: Sequence[Mapping], tz: tzinfo) -> list[int]:
    """Punch times as wall-clock minutes from the work date's midnight (26:10 = 1570), in instant order."""
    instants = sorted([_instant(adit.get(ADIT_RECORDED_AT), tz) for adit in adits])
    midnight = work_date.toordinal()  # day numbers: no date or timedelta object per punch
    minutes = []
    for instant in instants:
        local = instant.astimezone(tz)
        minutes.append((local.toordinal() - midnight) * 1440 + local.hour * 60 + local.minute)
    return minutes


def _instant(value: object, tz: tzinfo) -> datetime:
    """An ISO 8601 timestamp as an aware datetime; one without an offset is read in the company time zone."""
    field = f"{ADITS}.{ADIT_RECORDED_AT}"
    # fromisoformat also takes a bare date (10 characters at most), which is no punch time.
    if not isinstance(value, str) or len(value) <= 10:
        raise _Unreadable(field, value, _l("not a timestamp"))
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(field, value, _l("not a timestamp")) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=tz)


def _minutes(field: str, value: object) -> int | None:
    """A duration in whole minutes, None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unreadable(field, value, _l("not a number of minutes"))
    return value


def _leave(holiday: object) -> tuple[LeaveKind, str | None, tuple[HourlyLeave, ...]]:
    """The summary's holiday as (leave kind, leave name, hourly leaves)."""
    if holiday is None:
        return LeaveKind.NONE, None, ()
    if not isinstance(holiday, Mapping):
        raise _Unreadable(SUMMARY_HOLIDAY, holiday, _l("not an object"))
    kind, name = holiday.get(HOLIDAY_TYPE), holiday.get(HOLIDAY_NAME)
    if kind in HOLIDAY_KINDS:
        return HOLIDAY_KINDS[kind], name, ()
    if kind == HOLIDAY_HOURLY:
        start = _clock_time(HOLIDAY_START, holiday.get(HOLIDAY_START))
        end = _clock_time(HOLIDAY_END, holiday.get(HOLIDAY_END))
        if end <= start:
            raise _Unreadable(SUMMARY_HOLIDAY, holiday, _l("the hourly leave ends before it starts"))
        return LeaveKind.NONE, None, (HourlyLeave(start, end, name),)
    raise _Unreadable(f"{SUMMARY_HOLIDAY}.{HOLIDAY_TYPE}", kind, _l("an unknown leave type"))


def _clock_time(field: str, value: object) -> int:
    """An ``HH:MM`` clock time as minutes from midnight; hours past 24 are allowed for night shifts."""
    match = _CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _Unreadable(f"{SUMMARY_HOLIDAY}.{field}", value, _l("not a time as HH:MM"))
    return int(match[1]) * 60 + int(match[2])


def _retired_on(employee_id: object, value: object) -> date | None:
    """The retirement date, None when the employee has not retired.

    The core does not use it, so a date the mapping cannot read is logged and left out rather than stopping the
    sync.
    """
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        log.warning("Jobcan employee %s: %s is not a date: %r (ignored)", employee_id, EMPLOYEE_RETIRED_DAY, value)
        return None


def _value_text(value: object) -> str:
    """The offending value as JSON text, as Jobcan sent it."""
    return json.dumps(value, ensure_ascii=False, default=str)
