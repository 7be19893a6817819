"""The simulator's configuration and the KING OF TIME data it serves, generated deterministically from a seed.

Each (employee, date) draws from its own ``random.Random`` seeded with the seed, the employee and the date, so a
day looks the same whatever period is generated around it. Shapes follow kingoftime-api.md: null properties are
left out, punch codes are strings, punches of a day are stored (and served) out of time order.
Over 300 lines: the config, the day kinds and the payroll arithmetic belong together, read in the order the
data is generated.
"""

from __future__ import annotations

import calendar
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

JST = timezone(timedelta(hours=9))
THROTTLE_SHAPES = ("http429", "body303")

_LAST_NAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "勤怠")
_FIRST_NAMES = ("太郎", "花子", "健太", "美咲", "翔太", "陽菜", "大輔", "結衣", "拓海", "さくら", "蓮", "葵", "誠")
DIVISIONS = (
    {"code": "1000", "name": "本社", "dayBorderTime": "00:00"},
    {"code": "2000", "name": "大阪支社", "dayBorderTime": "00:00"},
    {"code": "3000", "name": "物流センター", "dayBorderTime": "05:00"},
)
_TYPES = (("1", "正社員"), ("1", "正社員"), ("1", "正社員"), ("2", "パート"), ("3", "契約社員"))
_GROUPS = ({"code": "0001", "name": "人事部"}, {"code": "0002", "name": "開発部"}, {"code": "0003", "name": "営業部"})
_FULL_LEAVE = ((1, "有休"), (1, "有休"), (1, "有休"), (2, "特休"), (3, "代休"))
_SCHEDULE = (9 * 60, 18 * 60)  # 所定 09:00–18:00 with an hour's break: 480 minutes assigned
_ASSIGNED = 480


def _first_of_this_month() -> date:
    return date.today().replace(day=1)


def _last_of_this_month() -> date:
    today = date.today()
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


def noon_jst() -> datetime:
    """The default clock: 12:00 JST today, never inside a restricted window."""
    return datetime.combine(datetime.now(JST).date(), time(12, 0), tzinfo=JST)


def real_jst() -> datetime:
    """The machine's clock in JST: restricted windows apply as in production."""
    return datetime.now(JST)


@dataclass
class SimulatorConfig:
    """What the simulator serves and how badly it behaves; every field has a demo-friendly default."""

    employees: int = 30
    start: date = field(default_factory=_first_of_this_month)  # first day with generated data
    end: date = field(default_factory=_last_of_this_month)  # last day with generated data (inclusive)
    seed: int = 1
    access_token: str = ""  # empty: derived from the seed, so a restarted simulator keeps its token
    retired: int = 2  # the first retires before start, the second in the middle of the period
    latency_ms: float = 0.0  # added to every answer
    rate_limit_rps: float | None = None  # a token bucket of R requests a second, bursts of R, for every endpoint
    throttle_shape: str = "http429"  # http429: 429 + Retry-After; body303: 403 with only the flat "303" body
    rate_500: float = 0.0  # probability a call answers 500 code 300 (token endpoints spared)
    refuse_address: bool = False  # every call but the token endpoints answers 403 code 100
    clock: Callable[[], datetime] = noon_jst  # the simulator's "now" (aware): restricted hours, default dates
    restricted_hours: bool = True  # refuse 08:30–10:00 and 17:30–18:30 JST on ``clock``
    fault_seed: int | None = None  # seeds the random 500s; None: the data's seed

    def __post_init__(self) -> None:
        if not self.access_token:
            self.access_token = hashlib.sha256(f"kingoftime-simulator/{self.seed}".encode()).hexdigest()[:32]
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.employees < 0 or self.retired < 0 or self.latency_ms < 0:
            raise ValueError("employees, retired and latency_ms cannot be negative")
        if not 0 <= self.rate_500 <= 1:
            raise ValueError("rate_500 is a probability")
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise ValueError("rate_limit_rps must be positive (None: no limit)")
        if self.throttle_shape not in THROTTLE_SHAPES:
            raise ValueError(f"throttle_shape is one of {', '.join(THROTTLE_SHAPES)}")


class DayKind(StrEnum):
    """What an employee's work date looks like in the generated data."""

    NO_RECORD = "no_record"  # Sunday, or after retirement: no DailyWorking at all
    DAY_OFF = "day_off"  # Saturday: an all-zero record (法定外休日)
    ORDINARY = "ordinary"  # about 09:00–18:30, lunch 3/4, sometimes a second break or an outing 7/8
    NIGHT_SHIFT = "night_shift"  # 22:00 → 06:00 the next calendar day, kept on the work date
    MISSING_CLOCK_OUT = "missing_clock_out"  # no code 2, isError, totalWork mostly 0
    FULL_LEAVE = "full_leave"  # fulltimeHoliday, no punches
    AM_LEAVE = "am_leave"  # halfdayHolidays AM休, 14:00–18:00
    PM_LEAVE = "pm_leave"  # halfdayHolidays PM休, 09:00–13:00
    HOURLY_LEAVE = "hourly_leave"  # hourHolidays 14:00–16:00, punches 09:00–18:00 with lunch
    ABSENT = "absent"  # a weekday with an all-zero record
    MINUTES_ONLY = "minutes_only"  # totalWork 480 and an automatic break, no punches


# Percentages of weekdays; Saturdays are DAY_OFF, Sundays NO_RECORD.
_WEEKDAY_WEIGHTS = {
    DayKind.ORDINARY: 68,
    DayKind.NIGHT_SHIFT: 5,
    DayKind.MISSING_CLOCK_OUT: 4,
    DayKind.FULL_LEAVE: 5,
    DayKind.AM_LEAVE: 4,
    DayKind.PM_LEAVE: 4,
    DayKind.HOURLY_LEAVE: 4,
    DayKind.ABSENT: 4,
    DayKind.MINUTES_ONLY: 2,
}
PUNCH_NAMES = {"1": "出勤", "2": "退勤", "3": "休憩開始", "4": "休憩終了", "7": "外出", "8": "戻り"}


@dataclass
class SimulatedData:
    """Everything the simulator serves, in the JSON shapes of kingoftime-api.md (every optional field present)."""

    employees: list[dict]  # sorted by code; hiredDate, resignationDate (when retired), emailAddresses included
    daily_workings: dict[tuple[str, date], dict]  # (employee key, work date) → DailyWorking
    time_records: dict[tuple[str, date], list[dict]]  # (employee key, work date) → timeRecord, NOT in time order
    day_kinds: dict[tuple[str, date], DayKind]  # every employee × date of the period, as generated

    def employee(self, key: str) -> dict | None:
        return next((e for e in self.employees if e["key"] == key), None)

    def employee_by_code(self, code: str) -> dict | None:
        return next((e for e in self.employees if e["code"] == code), None)


def generate_data(config: SimulatorConfig) -> SimulatedData:
    """The employees and their attendance for ``config.start``–``config.end``, the same for the same config."""
    employees = _generate_employees(config)
    data = SimulatedData(employees=employees, daily_workings={}, time_records={}, day_kinds={})
    day = config.start
    while day <= config.end:
        for employee in employees:
            key = (employee["key"], day)
            rng = random.Random(f"kingoftime-simulator/{config.seed}/{employee['key']}/{day.isoformat()}")
            kind = _day_kind(rng, day, employee)
            data.day_kinds[key] = kind
            if kind is DayKind.NO_RECORD:
                continue
            punches, holidays, totals = _plan_day(rng, kind)
            data.daily_workings[key] = daily_working(employee, day, holidays, totals, config.end)
            if punches:
                data.time_records[key] = _unsorted([time_record(employee, day, m, c) for m, c in punches], rng)
        day += timedelta(days=1)
    return data


def _generate_employees(config: SimulatorConfig) -> list[dict]:
    rng = random.Random(f"kingoftime-simulator/{config.seed}")
    employees = []
    for index in range(config.employees):
        division = rng.choice(DIVISIONS)
        type_code, type_name = rng.choice(_TYPES)
        employee = {
            "divisionCode": division["code"],
            "divisionName": division["name"],
            "gender": rng.choice(("male", "female")),
            "typeCode": type_code,
            "typeName": type_name,
            "code": str(1001 + index),
            "lastName": rng.choice(_LAST_NAMES),
            "firstName": rng.choice(_FIRST_NAMES),
            "key": hashlib.sha256(f"kingoftime-simulator/{config.seed}/employee/{index}".encode()).hexdigest(),
            "employeeGroups": [rng.choice(_GROUPS)],
            "hiredDate": (date(2005, 4, 1) + timedelta(days=rng.randint(0, 19 * 365))).isoformat(),
        }
        if rng.random() < 0.8:  # the others have no address: the property is left out
            employee["emailAddresses"] = [f"employee{1001 + index}@example.jp"]
        employees.append(employee)
    # Retirements: the first before the period starts, the others in its middle (their last working day).
    retiring = employees[len(employees) - min(config.retired, len(employees)) :]
    middle = config.start + (config.end - config.start) // 2
    for order, employee in enumerate(retiring):
        employee["resignationDate"] = (config.start - timedelta(days=15) if order == 0 else middle).isoformat()
    return employees


def _day_kind(rng: random.Random, day: date, employee: dict) -> DayKind:
    resigned = employee.get("resignationDate")
    if day.weekday() == 6 or (resigned and day > date.fromisoformat(resigned)):
        return DayKind.NO_RECORD
    if day.weekday() == 5:
        return DayKind.DAY_OFF
    return rng.choices(list(_WEEKDAY_WEIGHTS), weights=list(_WEEKDAY_WEIGHTS.values()))[0]


def _plan_day(rng: random.Random, kind: DayKind) -> tuple[list[tuple[int, str]], dict, dict]:
    """Punches as (minute from the work date's midnight, code), holidaysObtained, and the payroll totals."""
    holidays: dict = {"halfdayHolidays": [], "hourHolidays": []}
    if kind is DayKind.ORDINARY:
        clock_in, clock_out = rng.randint(8 * 60 + 45, 9 * 60 + 30), rng.randint(17 * 60 + 30, 20 * 60)
        punches = [(clock_in, "1"), (12 * 60, "3"), (13 * 60, "4"), (clock_out, "2")]
        if rng.random() < 0.25:
            second = rng.randint(15 * 60, 16 * 60)
            punches += [(second, "3"), (second + rng.randint(10, 20), "4")]
        elif rng.random() < 0.15:
            outing = rng.randint(14 * 60, 15 * 60)
            punches += [(outing, "7"), (outing + 30, "8")]
        return punches, holidays, totals_of(punches)
    if kind is DayKind.NIGHT_SHIFT:
        punches = [(22 * 60, "1"), (26 * 60, "3"), (27 * 60, "4"), (30 * 60, "2")]
        return punches, holidays, totals_of(punches) | {"late": 0, "earlyLeave": 0}
    if kind is DayKind.MISSING_CLOCK_OUT:
        punches = [(rng.randint(8 * 60 + 45, 9 * 60 + 30), "1")]
        if rng.random() < 0.5:
            punches += [(12 * 60, "3"), (13 * 60, "4")]
        # KING OF TIME's totals on such a day are as it computed them: mostly 0, sometimes up to the last punch.
        counted = max(m for m, _ in punches) - punches[0][0] if rng.random() < 0.3 and len(punches) > 1 else 0
        return punches, holidays, {"isError": True, "breakTime": 60 if len(punches) > 1 else 0, "totalWork": counted}
    if kind is DayKind.FULL_LEAVE:
        code, name = rng.choice(_FULL_LEAVE)
        return [], {**holidays, "fulltimeHoliday": {"code": code, "name": name}}, {}
    if kind in (DayKind.AM_LEAVE, DayKind.PM_LEAVE):
        half = "AM休" if kind is DayKind.AM_LEAVE else "PM休"
        holidays["halfdayHolidays"] = [{"typeName": half, "code": 1, "name": "有休"}]
        punches = [(14 * 60, "1"), (18 * 60, "2")] if half == "AM休" else [(9 * 60, "1"), (13 * 60, "2")]
        return punches, holidays, totals_of(punches) | {"late": 0, "earlyLeave": 0}  # leave covers the rest
    if kind is DayKind.HOURLY_LEAVE:
        code, name = rng.choice(((1, "有休"), (1, "有休"), (2, "特休")))
        holidays["hourHolidays"] = [{"start": 14 * 60, "end": 16 * 60, "minutes": 120, "code": code, "name": name}]
        punches = [(9 * 60, "1"), (12 * 60, "3"), (13 * 60, "4"), (18 * 60, "2")]
        return punches, holidays, totals_of(punches, leave=(14 * 60, 16 * 60))
    if kind is DayKind.MINUTES_ONLY:
        return [], holidays, {"assigned": _ASSIGNED, "breakTime": 60, "totalWork": _ASSIGNED}
    return [], holidays, {}  # DAY_OFF, ABSENT: all zeros


def totals_of(punches: list[tuple[int, str]], leave: tuple[int, int] | None = None) -> dict:
    """Payroll totals computed from punches: work = first 1 → last 2, less 3/4 breaks, 7/8 outings and leave."""
    ordered = sorted(punches)
    clock_in = next(m for m, c in ordered if c == "1")
    clock_out = max(m for m, c in ordered if c == "2")
    breaks = _pairs(ordered, "3", "4")
    outings = _pairs(ordered, "7", "8")
    spans = _subtract([(clock_in, clock_out)], breaks + outings + ([leave] if leave else []))
    work = sum(end - start for start, end in spans)
    night = sum(_overlap(span, window) for span in spans for window in ((0, 5 * 60), (22 * 60, 29 * 60)))
    overtime = max(0, work - _ASSIGNED)
    return {
        "assigned": work - overtime,
        "unassigned": overtime,
        "overtime": overtime,
        "lateNight": night,
        "lateNightUnassigned": min(night, overtime),
        "lateNightOvertime": min(night, overtime),
        "breakTime": sum(end - start for start, end in breaks),
        "late": max(0, clock_in - _SCHEDULE[0]) if clock_in < 12 * 60 else 0,
        "earlyLeave": max(0, _SCHEDULE[1] - clock_out) if clock_out > 14 * 60 else 0,
        "totalWork": work,
    }


_ZERO_TOTALS = dict.fromkeys(
    ("assigned", "unassigned", "overtime", "lateNight", "lateNightUnassigned", "lateNightOvertime"), 0
) | dict.fromkeys(("breakTime", "late", "earlyLeave", "totalWork"), 0)


def daily_working(employee: dict, day: date, holidays: dict, totals: dict, closing: date) -> dict:
    """One DailyWorking: ``totals`` over zeros; hourly leave start/end are minutes of the work date here."""
    served_holidays = {
        **holidays,
        "hourHolidays": [
            {**h, "start": timestamp(day, h["start"]), "end": timestamp(day, h["end"])}
            for h in holidays["hourHolidays"]
        ],
    }
    return {
        "date": day.isoformat(),
        "employeeKey": employee["key"],
        "workPlaceDivisionCode": employee["divisionCode"],
        "isClosing": (day.year, day.month) < (closing.year, closing.month),
        "isHelp": False,
        "isError": totals.get("isError", False),
        "workdayTypeName": {5: "法定外休日", 6: "法定休日"}.get(day.weekday(), "平日"),
        **_ZERO_TOTALS,
        **{name: value for name, value in totals.items() if name != "isError"},
        "holidaysObtained": served_holidays,
    }


def time_record(employee: dict, day: date, minute: int, code: str) -> dict:
    """One punch for work date ``day``, ``minute`` minutes after its midnight (may pass 24:00)."""
    return {
        "time": timestamp(day, minute),
        "code": code,
        "name": PUNCH_NAMES[code],
        "divisionCode": employee["divisionCode"],
    }


def timestamp(day: date, minute: int) -> str:
    """A punch time, with seconds and +09:00: ``2026-11-03T02:00:00+09:00`` for minute 1560 of 2026-11-02."""
    moment = datetime.combine(day, time(0), tzinfo=JST) + timedelta(minutes=minute)
    return moment.isoformat(timespec="seconds")


def _unsorted(records: list[dict], rng: random.Random) -> list[dict]:
    """The punches out of time order, as KING OF TIME may give them (one punch is trivially in order)."""
    shuffled = records[:]
    rng.shuffle(shuffled)
    if len(shuffled) > 1 and [r["time"] for r in shuffled] == sorted(r["time"] for r in shuffled):
        shuffled.reverse()
    return shuffled


def _pairs(ordered: list[tuple[int, str]], opening: str, closing: str) -> list[tuple[int, int]]:
    starts = [m for m, c in ordered if c == opening]
    ends = [m for m, c in ordered if c == closing]
    return list(zip(starts, ends, strict=False))


def _subtract(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    for hole_start, hole_end in holes:
        pieces = []
        for start, end in spans:
            pieces += [(start, min(end, hole_start))] if start < hole_start else []
            pieces += [(max(start, hole_end), end)] if end > hole_end else []
        spans = [(start, end) for start, end in pieces if end > start]
    return spans


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))
