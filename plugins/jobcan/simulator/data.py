"""The simulator's configuration and the attendance data it serves, generated deterministically from a seed.

Each (employee, date) draws from its own ``random.Random`` seeded with the seed, the employee and the date, so a
day looks the same whatever period is generated around it.
"""

from __future__ import annotations

import calendar
import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

SCOPES = ("employees.read", "summaries.create", "summaries.read", "adits.read")
JST = timezone(timedelta(hours=9))

_LAST_NAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "工数")
_FIRST_NAMES = ("太郎", "花子", "健太", "美咲", "翔太", "陽菜", "大輔", "結衣", "拓海", "さくら", "蓮", "葵", "誠")
_GROUPS = (1, 2, 3, 5, 8)
_FULL_LEAVE_NAMES = ("有休", "有休", "有休", "有休", "代休", "特別休暇")


def _first_of_this_month() -> date:
    return date.today().replace(day=1)


def _last_of_this_month() -> date:
    today = date.today()
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


@dataclass
class SimulatorConfig:
    """What the simulator serves and how badly it behaves; every field has a demo-friendly default."""

    employees: int = 30
    start: date = field(default_factory=_first_of_this_month)  # first day with generated data
    end: date = field(default_factory=_last_of_this_month)  # last day with generated data (inclusive)
    seed: int = 1
    client_id: str = "sim-client"
    client_secret: str = ""  # empty: derived from the seed, so a restarted simulator keeps its secret
    granted_scopes: tuple[str, ...] = SCOPES
    token_lifetime: int = 3600  # seconds; after that the token answers 401
    latency_ms: float = 0.0  # added to every API and token response
    rate_429: float = 0.0  # probability an API call answers 429
    retry_after: int | None = 1  # Retry-After seconds on a random 429; None omits the header
    rate_5xx: float = 0.0  # probability an API call answers 500, 502 or 503
    refresh_polls: int = 0  # how many times a refresh answers "processing" before "finished"
    empty_codes: int = 1  # how many employees have employee_code ""
    rate_limit_rps: float | None = None  # a token bucket of R requests a second, bursts of R, for every endpoint
    burst_429_length: int = 0  # N: the last N of every burst_429_every requests answer 429 (Retry-After as above)
    burst_429_every: int = 0  # M; 0: no bursts
    drop_rate: float = 0.0  # probability a request's connection is closed without an answer
    slow_rate: float = 0.0  # probability an answer comes slow_ms late (e.g. past the client's read timeout)
    slow_ms: float = 0.0
    faults_on_token: bool = False  # bursts and random faults hit the token endpoint too, not only API calls
    fault_seed: int | None = None  # seeds the random faults; None: the data's seed

    def __post_init__(self) -> None:
        if not self.client_secret:
            digest = hashlib.sha256(f"jobcan-simulator/{self.seed}".encode()).hexdigest()
            self.client_secret = f"sim-secret-{digest[:24]}"
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.employees < 0 or self.empty_codes < 0 or self.refresh_polls < 0 or self.latency_ms < 0:
            raise ValueError("employees, empty_codes, refresh_polls and latency_ms cannot be negative")
        if self.token_lifetime < 1:
            raise ValueError("token_lifetime must be at least one second")
        if not (0 <= self.rate_429 <= 1 and 0 <= self.rate_5xx <= 1 and self.rate_429 + self.rate_5xx <= 1):
            raise ValueError("rate_429 and rate_5xx are probabilities whose sum is at most 1")
        if not (0 <= self.drop_rate <= 1 and 0 <= self.slow_rate <= 1) or self.slow_ms < 0:
            raise ValueError("drop_rate and slow_rate are probabilities; slow_ms cannot be negative")
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise ValueError("rate_limit_rps must be positive (None: no limit)")
        if not 0 <= self.burst_429_length <= self.burst_429_every:
            raise ValueError("a 429 burst is 0 to burst_429_every requests long, every burst_429_every ≥ 1 requests")
        unknown = set(self.granted_scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")


class DayKind(StrEnum):
    """What an employee's work date looks like in the generated data."""

    DAY_OFF = "day_off"  # Saturday or Sunday: nothing recorded
    ORDINARY = "ordinary"  # about 09:00–18:30 with a lunch break, sometimes a second short break
    NIGHT_SHIFT = "night_shift"  # 22:00 → 06:00 the next calendar day, kept on the day it started
    MISSING_CLOCK_OUT = "missing_clock_out"  # one punch; summary with work 0, or none
    FULL_LEAVE = "full_leave"  # 全休: holiday "full", no punches
    AM_LEAVE = "am_leave"  # 午前休: holiday "am", 14:00–18:00
    PM_LEAVE = "pm_leave"  # 午後休: holiday "pm", 09:00–13:00
    HOURLY_LEAVE = "hourly_leave"  # 時間休 14:00–16:00, punches 09:00–18:00 with lunch
    ABSENT = "absent"  # a weekday with nothing recorded


# Percentages of weekdays; weekends are always DAY_OFF.
_WEEKDAY_WEIGHTS = {
    DayKind.ORDINARY: 70,
    DayKind.NIGHT_SHIFT: 5,
    DayKind.MISSING_CLOCK_OUT: 4,
    DayKind.FULL_LEAVE: 5,
    DayKind.AM_LEAVE: 4,
    DayKind.PM_LEAVE: 4,
    DayKind.HOURLY_LEAVE: 3,
    DayKind.ABSENT: 5,
}


@dataclass
class SimulatedData:
    """Everything the simulator serves, in the exact JSON shapes of jobcan-api.md."""

    employees: list[dict]  # sorted by id ascending
    summaries: dict[tuple[int, date], dict]  # (employee_id, work date) → DailySummary
    adits: dict[tuple[int, date], list[dict]]  # (employee_id, work date) → Adits in time order
    day_kinds: dict[tuple[int, date], DayKind]  # every employee × date of the period, as generated

    def employee(self, employee_id: int) -> dict | None:
        return next((e for e in self.employees if e["id"] == employee_id), None)


def generate_data(config: SimulatorConfig) -> SimulatedData:
    """The employees and their attendance for ``config.start``–``config.end``, the same for the same config."""
    employees = _generate_employees(config)
    data = SimulatedData(employees=employees, summaries={}, adits={}, day_kinds={})
    day = config.start
    while day <= config.end:
        for employee in employees:
            key = (employee["id"], day)
            rng = random.Random(f"jobcan-simulator/{config.seed}/{employee['id']}/{day.isoformat()}")
            kind = _day_kind(rng, day)
            data.day_kinds[key] = kind
            punches, holiday, with_summary = _plan_day(rng, kind)
            if with_summary:
                data.summaries[key] = daily_summary(employee["id"], day, punches, holiday)
            if punches:
                data.adits[key] = [adit(employee, day, minute) for minute in punches]
        day += timedelta(days=1)
    return data


def _generate_employees(config: SimulatorConfig) -> list[dict]:
    rng = random.Random(config.seed)
    without_code = set(rng.sample(range(config.employees), min(config.empty_codes, config.employees)))
    employees = []
    employee_id = 0
    for index in range(config.employees):
        employee_id += rng.randint(1, 3)  # gaps, so that paging by last_id is really exercised
        main_group = rng.choice(_GROUPS)
        others = [group for group in _GROUPS if group != main_group]
        employees.append(
            {
                "id": employee_id,
                "employee_code": "" if index in without_code else f"P{1001 + index}",
                "last_name": rng.choice(_LAST_NAMES),
                "first_name": rng.choice(_FIRST_NAMES),
                "main_group": main_group,
                "sub_group": sorted(rng.sample(others, rng.randint(0, 2))),
                "work_kind": rng.choice((1, 1, 1, 2, 3)),
                "entered_day": (date(2005, 4, 1) + timedelta(days=rng.randint(0, 19 * 365))).isoformat(),
                "retired_day": None,
            }
        )
    return employees


def _day_kind(rng: random.Random, day: date) -> DayKind:
    if day.weekday() >= 5:
        return DayKind.DAY_OFF
    return rng.choices(list(_WEEKDAY_WEIGHTS), weights=list(_WEEKDAY_WEIGHTS.values()))[0]


def _plan_day(rng: random.Random, kind: DayKind) -> tuple[list[int], dict | None, bool]:
    """Punches as minutes from the work date's midnight, the summary's holiday, and whether there is a summary."""
    if kind is DayKind.ORDINARY:
        punches = [rng.randint(8 * 60 + 45, 9 * 60 + 30), 12 * 60, 13 * 60]
        if rng.random() < 0.25:
            second_break = rng.randint(15 * 60, 16 * 60)
            punches += [second_break, second_break + rng.randint(10, 20)]
        punches.append(rng.randint(17 * 60 + 30, 20 * 60))
        return punches, None, True
    if kind is DayKind.NIGHT_SHIFT:
        return [22 * 60, 26 * 60, 27 * 60, 30 * 60], None, True  # 22:00, 02:00–03:00 break, 06:00 next day
    if kind is DayKind.MISSING_CLOCK_OUT:
        return [rng.randint(8 * 60 + 45, 9 * 60 + 30)], None, rng.random() < 0.5
    if kind is DayKind.FULL_LEAVE:
        return [], {"type": "full", "name": rng.choice(_FULL_LEAVE_NAMES)}, True
    if kind is DayKind.AM_LEAVE:
        return [14 * 60, 18 * 60], {"type": "am", "name": "有休"}, True
    if kind is DayKind.PM_LEAVE:
        return [9 * 60, 13 * 60], {"type": "pm", "name": "有休"}, True
    if kind is DayKind.HOURLY_LEAVE:
        holiday = {"type": "hourly", "name": "有休", "start": "14:00", "end": "16:00", "minutes": 120}
        return [9 * 60, 12 * 60, 13 * 60, 18 * 60], holiday, True
    return [], None, False  # DAY_OFF, ABSENT


def daily_summary(employee_id: int, day: date, punches: list[int], holiday: dict | None) -> dict:
    """A DailySummary computed from the punches: work = time clocked in minus breaks and hourly leave."""
    worked = list(zip(punches[0::2], punches[1::2], strict=False))
    work = sum(end - start for start, end in worked)
    breaks = sum(punches[i + 1] - punches[i] for i in range(1, len(punches) - 1, 2))
    if holiday and holiday["type"] == "hourly":
        leave = (_minutes(holiday["start"]), _minutes(holiday["end"]))
        work -= sum(_overlap((start, end), leave) for start, end in worked)
    night = sum(_overlap(span, window) for span in worked for window in ((0, 5 * 60), (22 * 60, 29 * 60)))
    return {
        "employee_id": employee_id,
        "date": day.isoformat(),
        "work": work,
        "break": breaks,
        "over_work": max(0, work - 8 * 60),
        "night_work": night,
        "holiday": holiday,
        "absence": False,
    }


def adit(employee: dict, day: date, minute: int) -> dict:
    """One punch of ``employee`` for work date ``day``, ``minute`` minutes after its midnight (may pass 24:00)."""
    return {
        "employee_id": employee["id"],
        "group_id": employee["main_group"],
        "date": day.isoformat(),
        "recorded_at": timestamp(day, minute),
    }


def timestamp(day: date, minute: int) -> str:
    """ISO 8601 with the +09:00 offset, e.g. ``2026-11-03T02:00:00+09:00`` for minute 1560 of 2026-11-02."""
    moment = datetime.combine(day, time(0), tzinfo=JST) + timedelta(minutes=minute)
    return moment.isoformat(timespec="seconds")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))
