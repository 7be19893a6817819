"""KING OF TIME JSON → hub records, following /work/shared/kingoftime-api.md ("the contract").

Pure functions, no I/O; they take the answers' items one at a time, as the client parses them from the
stream. Every KING OF TIME name the hub reads or sends lives in the constants below — paths' parameters,
fields, punch and error codes, the restricted hours — and so does every rule the contract marks *assumed*: a
customer holding the vendor's reference corrects them here and nowhere else.

A day whose data the mapping cannot read (an unknown half-day type, a malformed time, minutes that are not a
number) becomes a :class:`~hub.records.RejectedRecord` naming the field and the value: the core reports it and
syncs the rest.

Over 300 lines: the contract's names and assumed rules are kept in this one module on purpose, so that a
correction from the vendor's reference is made in one place, beside the functions that apply it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

import orjson

from hub.blackout import BlackoutWindow
from hub.providers import ProviderError
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind, RejectedRecord, RemoteMember
from hub_plugins.kingoftime.catalog import _, _l

log = logging.getLogger(__name__)

#: KING OF TIME's own clock: its restricted hours, and a timestamp without an offset (assumed), are read on it.
KOT_TIMEZONE = ZoneInfo("Asia/Tokyo")

# --- Hosts and paths (known) ---
PRODUCTION_URL = "https://api.kingtime.jp"
API_VERSION_PATH = "/v1.0"  # appended to the root the admin gives for a custom URL
TOKEN_AVAILABLE_PATH = "/tokens/{token}/available"
EMPLOYEES_PATH = "/employees"
DAILY_WORKINGS_PATH = "/daily-workings"
TIMERECORD_PATH = "/daily-workings/timerecord"

# --- Query parameters (known) ---
DATE_PARAMETER = "date"  # /employees: "as of"
INCLUDE_RESIGNER = "includeResigner"
ADDITIONAL_FIELDS = "additionalFields"
EMPLOYEE_ADDITIONAL_FIELDS = ("hiredDate", "resignationDate")
START_PARAMETER = "start"
END_PARAMETER = "end"
EMPLOYEE_KEYS = "employeeKeys"  # timerecord only; without it every employee's punches come
#: The longest range one /daily-workings or /daily-workings/timerecord call may ask for (known).
MAX_RANGE_DAYS = 62
#: How far back /employees and the daily endpoints answer (known: 3 years; counted here as 3 × 365 days).
HISTORY_DAYS = 3 * 365
#: The longest employeeKeys list sent, in characters; a longer one asks for everyone instead (assumed: a URL
#: of a few kilobytes is what servers and proxies accept).
EMPLOYEE_KEYS_LIMIT = 3000

# --- Token (GET /tokens/{token}/available, known) ---
TOKEN_AVAILABLE = "available"

# --- Employee (GET /employees, known) ---
EMPLOYEE_KEY = "key"  # never changes: the hub's remote id
EMPLOYEE_CODE = "code"  # editable by the customer: matched against the hub's 社員コード
EMPLOYEE_LAST_NAME = "lastName"
EMPLOYEE_FIRST_NAME = "firstName"
EMPLOYEE_RESIGNATION_DATE = "resignationDate"

# --- A date of /daily-workings and /daily-workings/timerecord (known) ---
DATE_GROUP_DATE = "date"
DATE_GROUP_WORKINGS = "dailyWorkings"
WORKING_DATE = "date"  # the work date (勤務日); never the date of a punch
WORKING_EMPLOYEE_KEY = "employeeKey"

# --- Daily totals (DailyWorking, known meanings; all minutes) ---
TOTAL_WORK = "totalWork"  # 労働合計
BREAK_TIME = "breakTime"  # 休憩, automatic breaks included
OVERTIME = "overtime"  # 残業
LATE_NIGHT = "lateNight"  # 深夜
LATE = "late"  # 遅刻
EARLY_LEAVE = "earlyLeave"  # 早退
IS_ERROR = "isError"  # 打刻エラー, e.g. a missing clock-out: the missing 退勤 punch says it already

# --- Leave (DailyWorking.holidaysObtained) ---
HOLIDAYS = "holidaysObtained"
FULLTIME_HOLIDAY = "fulltimeHoliday"  # known: 全休
HALFDAY_HOLIDAYS = "halfdayHolidays"  # known: 半休, a list
HOUR_HOLIDAYS = "hourHolidays"  # known: 時間休, a list with start and end
HOLIDAY_NAME = "name"  # known: the customer's own name (有休, 特休 …), kept as leave_name
HALFDAY_TYPE = "typeName"  # known
HALFDAY_KINDS = {"AM休": LeaveKind.AM, "PM休": LeaveKind.PM}  # assumed: these two spellings only
HOUR_START = "start"  # known: a date-time
HOUR_END = "end"  # known: a date-time

# --- Punches (/daily-workings/timerecord, known) ---
TIME_RECORD = "timeRecord"
PUNCH_TIME = "time"
PUNCH_CODE = "code"  # a string
CLOCK_IN = "1"  # 出勤: the first one is the clock-in
CLOCK_OUT = "2"  # 退勤: the last one is the clock-out
BREAK_START = "3"  # 休憩開始
BREAK_END = "4"  # 休憩終了
GOING_OUT = "7"  # 外出: not a break (assumed default: shown as breaks only when the customer says so)
COMING_BACK = "8"  # 戻り: likewise
PUNCH_CODES = frozenset({CLOCK_IN, CLOCK_OUT, BREAK_START, BREAK_END, GOING_OUT, COMING_BACK})

# --- Errors ---
ERRORS = "errors"  # known: {"errors": [{"message": "…", "code": 100}, …]}, code an integer
ERROR_CODE = "code"
ERROR_MESSAGE = "message"
AUTH_FAILED = 100  # known: wrong token, this address not allowed, or no right for the item
RESTRICTED_HOURS = 104  # known: a call inside the restricted hours
SERVER_ERROR = 300  # known: maintenance or server trouble; retried
THROTTLED_CODE = "303"  # known: a flat {"code": "303", "message": "Too Many Requests"}, code a string
THROTTLED_STATUS = 429  # assumed: the status of a throttled answer (either shape counts)

# --- Restricted hours (known; assumed: [08:30, 10:00) and [17:30, 18:30), the end allowed again) ---
RESTRICTED_WINDOWS = (
    BlackoutWindow(time(8, 30), time(10), KOT_TIMEZONE),
    BlackoutWindow(time(17, 30), time(18, 30), KOT_TIMEZONE),
)


class MappingError(ProviderError):
    """KING OF TIME sent something the sync cannot go on without (an employee without a key)."""


class _Unreadable(Exception):
    """One day's value the mapping cannot read: ``field`` as KING OF TIME names it, the ``value``, and why (a lazy
    string the core renders in the admin's language)."""

    def __init__(self, field: str, value: object, reason: str):
        super().__init__(field)
        self.field, self.value, self.reason = field, value, reason


# --- answers in general -------------------------------------------------------------------------------


def throttled(body: object) -> bool:
    """Whether an answer's body is the flat "Too Many Requests" one, whatever its status."""
    return isinstance(body, Mapping) and ERRORS not in body and str(body.get(ERROR_CODE)) == THROTTLED_CODE


def error_codes(body: object) -> list[int]:
    """The codes of an error envelope, as integers where they are; empty when it has none."""
    errors = body.get(ERRORS) if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return []
    codes = []
    for error in errors:
        code = error.get(ERROR_CODE) if isinstance(error, Mapping) else None
        try:
            codes.append(int(code))
        except (TypeError, ValueError):
            continue
    return codes


def error_detail(body: object) -> str:
    """The messages of an error envelope, joined; empty when it has none."""
    errors = body.get(ERRORS) if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        str(error.get(ERROR_MESSAGE) or error.get(ERROR_CODE)) for error in errors if isinstance(error, Mapping)
    )


def token_available(body: object) -> bool:
    """Whether the token endpoint's answer says the token may be used."""
    return isinstance(body, Mapping) and body.get(TOKEN_AVAILABLE) is True


# --- queries ------------------------------------------------------------------------------------------


def employees_query(as_of: date) -> dict[str, str]:
    """/employees as of ``as_of``, retired employees included, with their hire and retirement dates."""
    return {
        DATE_PARAMETER: as_of.isoformat(),
        INCLUDE_RESIGNER: "true",
        ADDITIONAL_FIELDS: ",".join(EMPLOYEE_ADDITIONAL_FIELDS),
    }


def range_query(start: date, end: date) -> dict[str, str]:
    return {START_PARAMETER: start.isoformat(), END_PARAMETER: end.isoformat()}


def timerecord_query(start: date, end: date, employee_keys: Sequence[str]) -> dict[str, str]:
    """The punches of ``employee_keys``; of everyone when the list would make too long a URL (then the mapping
    keeps the asked ones)."""
    query = range_query(start, end)
    joined = ",".join(employee_keys)
    if employee_keys and len(joined) <= EMPLOYEE_KEYS_LIMIT:
        query[EMPLOYEE_KEYS] = joined
    return query


def date_ranges(start: date, end: date) -> list[tuple[date, date]]:
    """``start``..``end`` cut into ranges of at most :data:`MAX_RANGE_DAYS` days, both ends inclusive."""
    ranges = []
    while start <= end:
        last = min(start + timedelta(days=MAX_RANGE_DAYS - 1), end)
        ranges.append((start, last))
        start = last + timedelta(days=1)
    return ranges


# --- employees ----------------------------------------------------------------------------------------


def employee_to_member(employee: Mapping, period_start: date | None = None) -> RemoteMember | None:
    """A KING OF TIME employee as a hub ``RemoteMember``; None for one who retired before ``period_start``
    (ignored, not unmatched). Codes are strings; a missing code or name part becomes empty."""
    key = employee.get(EMPLOYEE_KEY)
    if key is None or key == "":
        raise MappingError(
            _("KING OF TIME sent an employee without a %(field)s; the employees cannot be told apart.", field="key")
        )
    retired_on = _resignation(key, employee.get(EMPLOYEE_RESIGNATION_DATE))
    if retired_on is not None and period_start is not None and retired_on < period_start:
        return None
    code = employee.get(EMPLOYEE_CODE)
    parts = (employee.get(EMPLOYEE_LAST_NAME), employee.get(EMPLOYEE_FIRST_NAME))
    return RemoteMember(
        remote_id=str(key),
        code="" if code is None else str(code),
        name=" ".join(str(part).strip() for part in parts if part and str(part).strip()),
        retired_on=retired_on,
    )


def _resignation(key: object, value: object) -> date | None:
    """The retirement date; one the mapping cannot read is logged and left out (the core does not need it)."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        log.warning("KING OF TIME employee %s: %s is not a date: %r (ignored)", key, EMPLOYEE_RESIGNATION_DATE, value)
        return None


# --- attendance ---------------------------------------------------------------------------------------
#
# A sync reads the whole period's totals, then its punches, as each answer arrives (the client parses them as a
# stream): each /daily-workings item is digested at once into its minutes, leave and compact JSON text
# (:func:`totals_by_day`), and each timerecord item is joined with its day's digest and mapped as it comes
# (:func:`join_punches`), so neither answer is ever held whole, as text or decoded.


class _Totals(NamedTuple):
    """One /daily-workings item, read: what a day record takes from it, or why it cannot be read."""

    day: date | None  # the work date; None when the item's date is not one (``date_value`` says what came)
    date_value: object
    error: _Unreadable | None  # the first value of the item the mapping cannot read
    work: int | None = None
    breaks: int | None = None
    overtime: int | None = None
    late_night: int | None = None
    late: int | None = None
    early_leave: int | None = None
    leave: LeaveKind = LeaveKind.NONE
    leave_name: str | None = None
    hourly: tuple[HourlyLeave, ...] = ()
    raw: bytes = b"null"  # the item as received, as compact JSON text


def day_items(answer: object) -> Iterator[Mapping]:
    """The items of a /daily-workings or timerecord answer (an array of dates, each with its items, or those dates
    as they are parsed); an item without its own ``date`` gets its date group's."""
    for group in answer if isinstance(answer, list | Iterator) else ():
        if type(group) is not dict and not isinstance(group, Mapping):
            continue
        for item in group.get(DATE_GROUP_WORKINGS) or ():
            if type(item) is dict or isinstance(item, Mapping):
                yield item if WORKING_DATE in item else {**item, WORKING_DATE: group.get(DATE_GROUP_DATE)}


def day_records(
    workings: Iterable[Mapping],
    timerecords: Iterable[Mapping],
    wanted: set[str],
    start: date,
    end: date,
    tz: tzinfo,
) -> list[DayRecord | RejectedRecord]:
    """The day records of the ``wanted`` employee keys for work dates ``start``..``end``: totals and punches
    of the same employee and work date joined, in (key, date) order. ``tz`` is the company time zone."""
    return join_punches(totals_by_day(workings, wanted, tz), timerecords, wanted, start, end, tz)


def totals_by_day(workings: Iterable[Mapping], wanted: set[str], tz: tzinfo) -> dict[tuple[str, object], _Totals]:
    """The /daily-workings items of the ``wanted`` employee keys, read, by (key, date as received); of two items
    for one day the later counts. The items themselves are not kept."""
    keys = {key: key for key in wanted}  # one string per employee, not one per item
    dates: dict[str, str] = {}  # and one per date
    totals = {}
    for item in workings:
        key = keys.get(str(item.get(WORKING_EMPLOYEE_KEY)))
        if key is not None:
            date_value = item.get(WORKING_DATE)
            date_value = dates.setdefault(date_value, date_value) if type(date_value) is str else date_value
            totals[(key, date_value)] = _read_totals(date_value, item, tz)
    return totals


def join_punches(
    totals: Mapping[tuple[str, object], _Totals],
    timerecords: Iterable[Mapping],
    wanted: set[str],
    start: date,
    end: date,
    tz: tzinfo,
) -> list[DayRecord | RejectedRecord]:
    """Each timerecord item of the ``wanted`` keys joined with its day's ``totals`` and mapped as it comes, then
    the days with totals and no punches; of two items for one day the later counts. In (key, date) order."""
    keys = {key: key for key in wanted}
    moments: dict[str, tuple[float, int]] = {}
    days: dict[tuple[str, object], DayRecord | RejectedRecord | None] = {}
    for item in timerecords:
        key = item.get(WORKING_EMPLOYEE_KEY)
        key = keys.get(key if type(key) is str else str(key))
        if key is not None:
            date_value = item.get(WORKING_DATE)
            pair = (key, date_value)
            read = totals.get(pair) or _read_totals(date_value, None, tz)
            days[pair] = _day(key, read, item, tz, moments)
    for pair, read in totals.items():
        if pair not in days:
            days[pair] = _day(pair[0], read, None, tz, moments)
    if all(type(day) is str for _key, day in days):
        order = sorted(days)  # (key, "YYYY-MM-DD") pairs, compared in C
    else:
        order = sorted(days, key=lambda pair: (pair[0], str(pair[1])))
    records = []
    for pair in order:
        record = days[pair]
        if record is not None and (record.work_date is None or start <= record.work_date <= end):
            records.append(record)
    return records


def day_record(
    employee_key: str, work_date: object, working: Mapping | None, timerecord: Mapping | None, tz: tzinfo
) -> DayRecord | RejectedRecord | None:
    """One employee's work date as a ``DayRecord``, a ``RejectedRecord`` naming what it cannot read, or None
    when KING OF TIME holds nothing worth syncing (no punches, no leave, no work minutes)."""
    return _day(employee_key, _read_totals(work_date, working, tz), timerecord, tz, {})


def _read_totals(date_value: object, working: Mapping | None, tz: tzinfo) -> _Totals:
    day = _work_date(date_value)
    # A copy the size of the text: orjson's own bytes keep a buffer of ~8 KB each (orjson 3.13), and the digests
    # of a whole period are held until the punches are joined.
    raw = bytes(memoryview(_json(working))) if working else b"null"
    if day is None:
        return _Totals(None, date_value, None, raw=raw)
    if not working:
        return _Totals(day, date_value, None, raw=raw)
    get = working.get
    minutes = [get(field) for field in _TOTAL_FIELDS]
    try:
        for value in minutes:
            if value is not None and type(value) is not int:
                minutes = [_minutes(field, get(field)) for field in _TOTAL_FIELDS]  # says which
        leave, leave_name, hourly = _leave(day, get(HOLIDAYS), tz)
    except _Unreadable as unreadable:
        return _Totals(day, date_value, unreadable, raw=raw)
    # tuple.__new__: a NamedTuple's own __new__ is Python code, called 35,000 times a sync.
    return tuple.__new__(_Totals, (day, date_value, None, *minutes, leave, leave_name, hourly, raw))


_TOTAL_FIELDS = (TOTAL_WORK, BREAK_TIME, OVERTIME, LATE_NIGHT, LATE, EARLY_LEAVE)  # in _Totals' order
_DAYS: dict[str, date] = {}  # work dates read so far: a period has few, and a sync reads each thousands of times


def _work_date(value: object) -> date | None:
    if type(value) is not str:
        return None
    day = _DAYS.get(value)
    if day is None:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
        if len(_DAYS) < 10_000:
            _DAYS[value] = day
    return day


def _day(
    employee_key: str, totals: _Totals, timerecord: Mapping | None, tz: tzinfo, moments: dict
) -> DayRecord | RejectedRecord | None:
    day, date_value, error, work, brk, overtime, late_night, late, early_leave, leave, leave_name, hourly, raw = totals
    if day is None:
        return RejectedRecord(employee_key, None, WORKING_DATE, _value_text(date_value), _l("not a date"))
    received = timerecord.get(TIME_RECORD) if timerecord is not None else None
    try:
        if not received:
            received, punches = [], ()
        elif isinstance(received, list):
            punches = _punches(day, received, tz, moments)
        else:
            raise _Unreadable(TIME_RECORD, received, _l("not a list of punches"))
        if error is not None:
            raise error
    except _Unreadable as unreadable:
        return RejectedRecord(
            remote_id=employee_key,
            work_date=day,
            field=unreadable.field,
            value=_value_text(unreadable.value),
            reason=unreadable.reason,
        )
    if not (punches or leave is not LeaveKind.NONE or hourly or (work or 0) > 0):
        return None
    # One pass in time order: clock-in is the first 出勤, clock-out the last 退勤 (none: a missing clock-out,
    # isError), breaks are 休憩開始/休憩終了 pairs; an unpaired one is left out with a warning in the log
    # (外出/戻り are not breaks).
    clock_in = clock_out = started = None
    breaks = []
    for _order, code, minute in punches:
        if code == CLOCK_IN:
            if clock_in is None:
                clock_in = minute
        elif code == CLOCK_OUT:
            clock_out = minute
        elif code == BREAK_START:
            if started is None:
                started = minute
            else:
                _unpaired(employee_key, day, code)
        elif code == BREAK_END:
            if started is not None:
                breaks.append(Interval(started, minute))
                started = None
            else:
                _unpaired(employee_key, day, code)
    if started is not None:
        log.warning("KING OF TIME %s %s: a break start without an end left out", employee_key, day)
    return DayRecord(
        remote_id=employee_key,
        work_date=day,
        clock_in=clock_in,
        clock_out=clock_out,
        breaks=tuple(breaks),
        work_minutes=work,
        break_minutes=brk,
        leave=leave,
        leave_name=leave_name,
        hourly_leaves=hourly,
        overtime_minutes=overtime,
        late_night_minutes=late_night,
        late_minutes=late,
        early_leave_minutes=early_leave,
        # The day's own objects as received, as compact JSON text (UTF-8): a sync holds tens of thousands of
        # these, and the core stores the text as it is.
        raw=b'{"dailyWorking":%b,"%b":%b}' % (raw, _TIME_RECORD_BYTES, _json(received)),
    )


def _unpaired(employee_key: str, day: date, code: str) -> None:
    log.warning("KING OF TIME %s %s: an unpaired break punch (code %s) left out", employee_key, day, code)


_TIME_RECORD_BYTES = TIME_RECORD.encode()


def _punches(work_date: date, received: list, tz: tzinfo, moments: dict) -> list[tuple[float, str, int]]:
    """(order, code, minutes from the work date's midnight) of each punch, in time order (KING OF TIME does not
    sort them).

    ``moments`` holds the timestamps read so far (text → what :func:`_moment` makes of it): a company's punches
    share their minutes, so most are read once per sync, not once per punch.
    """
    read = []
    midnight = work_date.toordinal() * 1440
    for punch in received:
        if type(punch) is not dict and not isinstance(punch, Mapping):
            raise _Unreadable(TIME_RECORD, punch, _l("not a punch"))
        code = punch.get(PUNCH_CODE)
        if type(code) is not str or code not in PUNCH_CODES:
            code = _punch_code(code)
        value = punch.get(PUNCH_TIME)
        moment = moments.get(value) if type(value) is str else None
        if moment is None:
            moment = _moment(f"{TIME_RECORD}.{PUNCH_TIME}", value, tz)
            if len(moments) >= MOMENTS_HELD:
                moments.clear()
            moments[value] = moment
        minute = moment[1] - midnight
        read.append((moment[0], code, _MINUTES[minute] if 0 <= minute < _DAYS_OF_MINUTES else minute))
    read.sort(key=_first)
    return read


#: The minutes of three days as int objects made once: a sync's records keep ~110,000 clock and break times,
#: otherwise each a new 32-byte int (3.4 MB for 1,000 employees × 40 days).
_DAYS_OF_MINUTES = 3 * 1440
_MINUTES = tuple(range(_DAYS_OF_MINUTES))


#: The most timestamps kept read at once. Answers come date by date, and a date's punches fall on some
#: 1,000–3,000 distinct minutes, so a few dates' worth keeps nearly every hit (92 % for 1,000 × 40) while
#: holding ~2 MB instead of ~9 MB for a whole period's.
MOMENTS_HELD = 10_000


def _punch_code(code: object) -> str:
    """A punch code as the string KING OF TIME sends (an integer too), or why it is none."""
    if isinstance(code, bool) or str(code) not in PUNCH_CODES:
        raise _Unreadable(f"{TIME_RECORD}.{PUNCH_CODE}", code, _l("an unknown punch code"))
    return str(code)


_first = itemgetter(0)


def minutes_from(work_date: date, instant: datetime, tz: tzinfo) -> int:
    """Wall-clock minutes of ``instant`` in ``tz`` from the work date's midnight: 02:00 the next morning is 1560
    (26:00). Seconds are dropped, as KING OF TIME truncates them."""
    local = instant.astimezone(tz)
    return (local.toordinal() - work_date.toordinal()) * 1440 + local.hour * 60 + local.minute


#: "00".."59" as numbers: a timestamp's minutes and seconds, read without int().
_SIXTY = {f"{number:02d}": number for number in range(60)}
#: (zone, "YYYY-MM-DDTHH", offset) → (UTC minute, wall-clock minute in the zone) of that hour's start, both
#: counted from day 1 of year 1; None when the zone's offset changes within the hour (or is not whole minutes).
_HOURS: dict[tuple[tzinfo, str, str], tuple[int, int] | None] = {}
_MISSING = (0, 0)


def _moment(field: str, value: object, tz: tzinfo) -> tuple[float, int]:
    """A date-time as (its order in time, its wall-clock minute in ``tz`` counted from day 1 of year 1).

    The two forms KING OF TIME sends (``…T10:00:00+09:00``, ``…T10:00+09:00``) are read from the hour's start,
    computed once per zone, hour and offset, plus the minutes and seconds; anything else goes through
    :func:`_instant` (a timestamp without an offset is read on KING OF TIME's clock, as there).
    """
    if type(value) is str:
        length = len(value)
        if length == 25 and value[16] == ":" and value[19] in "+-":
            seconds, offset = _SIXTY.get(value[17:19]), value[19:]
        elif length == 22 and value[16] in "+-":
            seconds, offset = 0, value[16:]
        else:
            seconds = None
        minute = _SIXTY.get(value[14:16]) if seconds is not None and value[13] == ":" else None
        if minute is not None:
            hour = (tz, value[:13], offset)
            start = _HOURS.get(hour, _MISSING)
            if start is _MISSING:
                start = _hour_start(hour)
            if start is not None:
                utc, local = start
                return (utc + minute) * 60 + seconds, local + minute
    instant = _instant(field, value)
    utc, local = instant.astimezone(UTC), instant.astimezone(tz)
    return (
        (utc.toordinal() * 1440 + utc.hour * 60 + utc.minute) * 60 + utc.second + utc.microsecond / 1e6,
        local.toordinal() * 1440 + local.hour * 60 + local.minute,
    )


def _hour_start(hour: tuple[tzinfo, str, str]) -> tuple[int, int] | None:
    """The (UTC, wall-clock) minutes of an hour's start, when the zone's offset stays whole minutes and the same
    for the whole hour (then every minute of the hour is that plus its minutes); None when not, or not a time."""
    tz, prefix, offset = hour
    try:
        instant = datetime.fromisoformat(f"{prefix}:00{offset}")
    except ValueError:
        instant = None
    start = None
    if instant is not None and instant.tzinfo is not None and offset[3] == ":":
        utc, local = instant.astimezone(UTC), instant.astimezone(tz)
        shift = local.utcoffset()
        if shift == (instant + _LAST_SECOND).astimezone(tz).utcoffset() and shift % _MINUTE == _NO_TIME:
            start = (
                utc.toordinal() * 1440 + utc.hour * 60 + utc.minute,
                local.toordinal() * 1440 + local.hour * 60 + local.minute,
            )
    if len(_HOURS) >= 100_000:
        _HOURS.clear()
    _HOURS[hour] = start
    return start


_LAST_SECOND, _MINUTE, _NO_TIME = timedelta(minutes=59, seconds=59), timedelta(minutes=1), timedelta(0)


def _instant(field: str, value: object) -> datetime:
    """A date-time with or without seconds as an aware datetime; one without an offset is read on KING OF TIME's
    clock (assumed)."""
    # fromisoformat also takes a bare date (10 characters at most), which is no punch time.
    if not isinstance(value, str) or len(value) <= 10:
        raise _Unreadable(field, value, _l("not a timestamp"))
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(field, value, _l("not a timestamp")) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=KOT_TIMEZONE)


def _minutes(field: str, value: object) -> int | None:
    """A duration in whole minutes; None when absent (an absent key means null)."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unreadable(field, value, _l("not a number of minutes"))
    return value


def _leave(work_date: date, holidays: object, tz: tzinfo) -> tuple[LeaveKind, str | None, tuple[HourlyLeave, ...]]:
    """holidaysObtained as (leave kind, its name, hourly leaves in time order).

    A 午前休 and a 午後休 on one day make a full day off (assumed), named by both names when they differ.
    """
    if holidays is None:
        return _NO_LEAVE
    if type(holidays) is not dict and not isinstance(holidays, Mapping):
        raise _Unreadable(HOLIDAYS, holidays, _l("not an object"))
    full, halves, hours = holidays.get(FULLTIME_HOLIDAY), holidays.get(HALFDAY_HOLIDAYS), holidays.get(HOUR_HOLIDAYS)
    if full is None and (halves is None or halves == []) and (hours is None or hours == []):
        return _NO_LEAVE  # most days
    kind, name = LeaveKind.NONE, None
    if full is not None:
        if not isinstance(full, Mapping):
            raise _Unreadable(f"{HOLIDAYS}.{FULLTIME_HOLIDAY}", full, _l("not an object"))
        kind, name = LeaveKind.FULL, _name(full)
    halves = _list(f"{HOLIDAYS}.{HALFDAY_HOLIDAYS}", halves)
    if halves and kind is LeaveKind.NONE:
        kinds, names = set(), []
        for half in halves:
            type_name = half.get(HALFDAY_TYPE)
            if type_name not in HALFDAY_KINDS:
                raise _Unreadable(
                    f"{HOLIDAYS}.{HALFDAY_HOLIDAYS}.{HALFDAY_TYPE}", type_name, _l("an unknown leave type")
                )
            kinds.add(HALFDAY_KINDS[type_name])
            if _name(half) and _name(half) not in names:
                names.append(_name(half))
        kind = LeaveKind.FULL if len(kinds) > 1 else kinds.pop()
        name = "・".join(names) or None
    hourly = []
    midnight = work_date.toordinal() * 1440
    for leave in _list(f"{HOLIDAYS}.{HOUR_HOLIDAYS}", hours):
        field = f"{HOLIDAYS}.{HOUR_HOLIDAYS}"
        begins = _moment(f"{field}.{HOUR_START}", leave.get(HOUR_START), tz)[1] - midnight
        ends = _moment(f"{field}.{HOUR_END}", leave.get(HOUR_END), tz)[1] - midnight
        if ends <= begins:
            raise _Unreadable(field, leave, _l("the hourly leave ends before it starts"))
        hourly.append(HourlyLeave(begins, ends, _name(leave)))
    return kind, name, tuple(sorted(hourly, key=lambda leave: (leave.start, leave.end)))


_NO_LEAVE: tuple[LeaveKind, None, tuple[HourlyLeave, ...]] = (LeaveKind.NONE, None, ())


def _list(field: str, value: object) -> list[Mapping]:
    """A list of objects; an absent one is empty."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise _Unreadable(field, value, _l("not a list of objects"))
    return value


def _name(holiday: Mapping) -> str | None:
    name = holiday.get(HOLIDAY_NAME)
    return str(name) if name not in (None, "") else None


def _json(value: object) -> bytes:
    """``value`` (decoded JSON) as compact JSON text in UTF-8; orjson, or the standard encoder for what orjson
    refuses (an integer past 64 bits), so odd data is kept all the same."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _json_text(value).encode()


_json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


def _value_text(value: object) -> str:
    """The offending value as JSON text, as KING OF TIME sent it."""
    return json.dumps(value, ensure_ascii=False, default=str)
