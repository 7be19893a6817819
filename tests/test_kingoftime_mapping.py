"""KING OF TIME JSON → hub records, one test per rule of kingoftime-api.md (hub_plugins.kingoftime.mapping).

Over 300 lines: the mapping module holds every rule of the contract, and each rule has its test here.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.blackout import window_at
from hub.providers import ProviderError
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind, RejectedRecord, RemoteMember
from hub_plugins.kingoftime import mapping
from hub_plugins.kingoftime.mapping import (
    MappingError,
    date_ranges,
    day_items,
    day_record,
    day_records,
    employee_to_member,
    error_codes,
    throttled,
    timerecord_query,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WORK_DATE = date(2026, 11, 2)
KEY = "8b6ee646a9620b286499c3df6918c4888a97dd7bbc6a26a18743f4697a1de4b3"


def at(minute: int, seconds: bool = True, day: date = WORK_DATE) -> str:
    """A KING OF TIME timestamp ``minute`` minutes after ``day``'s midnight in JST (past 24:00 allowed)."""
    moment = datetime.combine(day, time(0), tzinfo=timezone(timedelta(hours=9))) + timedelta(minutes=minute)
    return moment.isoformat(timespec="seconds" if seconds else "minutes")


def punch(minute: int, code: str, seconds: bool = True) -> dict:
    names = {"1": "出勤", "2": "退勤", "3": "休憩開始", "4": "休憩終了", "7": "外出", "8": "戻り"}
    return {"time": at(minute, seconds), "code": code, "name": names.get(code, "?"), "divisionCode": "1000"}


def timerecord(*punches: dict) -> dict:
    return {"date": WORK_DATE.isoformat(), "employeeKey": KEY, "timeRecord": list(punches)}


def working(total: int | None = 480, brk: int | None = 60, holidays: dict | None = None, **extra) -> dict:
    """A DailyWorking; ``None`` leaves a key out, as KING OF TIME leaves out null properties."""
    item = {"date": WORK_DATE.isoformat(), "employeeKey": KEY, "isError": False, "overtime": 0, "lateNight": 0}
    item |= {"late": 0, "earlyLeave": 0, **extra}
    if total is not None:
        item["totalWork"] = total
    if brk is not None:
        item["breakTime"] = brk
    if holidays is not None:
        item["holidaysObtained"] = holidays
    return item


def read(working_: dict | None, timerecord_: dict | None, tz=TOKYO) -> DayRecord | None:
    record = day_record(KEY, WORK_DATE.isoformat(), working_, timerecord_, tz)
    assert not isinstance(record, RejectedRecord), record
    return record


def rejected(working_: dict | None, timerecord_: dict | None) -> RejectedRecord:
    record = day_record(KEY, WORK_DATE.isoformat(), working_, timerecord_, TOKYO)
    assert isinstance(record, RejectedRecord), record
    assert (record.remote_id, record.work_date) == (KEY, WORK_DATE) and str(record.reason).strip()
    return record


ORDINARY = (punch(541, "1"), punch(720, "3"), punch(780, "4"), punch(1085, "2"))


# --- employees ---


def test_an_employee_is_matched_by_code_and_known_by_key():
    employee = {"key": KEY, "code": 1000, "lastName": "勤怠", "firstName": "太郎", "divisionName": "本社"}
    assert employee_to_member(employee) == RemoteMember(remote_id=KEY, code="1000", name="勤怠 太郎")


def test_missing_code_and_name_parts_are_empty():
    assert employee_to_member({"key": "k", "lastName": "勤怠"}) == RemoteMember("k", "", "勤怠")


def test_an_employee_without_a_key_stops_the_sync():
    with pytest.raises(MappingError) as raised:
        employee_to_member({"code": "1000"})
    assert isinstance(raised.value, ProviderError) and "key" in str(raised.value)


def test_retired_before_the_period_is_ignored_and_inside_it_carries_the_date():
    employee = {"key": "k", "code": "1", "resignationDate": "2026-11-10"}
    assert employee_to_member(employee, period_start=date(2026, 11, 11)) is None
    assert employee_to_member(employee, period_start=date(2026, 11, 1)).retired_on == date(2026, 11, 10)
    assert employee_to_member(employee).retired_on == date(2026, 11, 10)


def test_an_unreadable_resignation_date_is_logged_and_left_out(caplog):
    with caplog.at_level(logging.WARNING):
        member = employee_to_member({"key": "k", "code": "1", "resignationDate": "someday"})
    assert member.retired_on is None and "resignationDate" in caplog.text


# --- punches ---


def test_an_ordinary_day():
    record = read(working(total=484, brk=60, overtime=4, late=1), timerecord(*ORDINARY))
    assert record == DayRecord(
        remote_id=KEY,
        work_date=WORK_DATE,
        clock_in=541,
        clock_out=1085,
        breaks=(Interval(720, 780),),
        work_minutes=484,
        break_minutes=60,
        overtime_minutes=4,
        late_night_minutes=0,
        late_minutes=1,
        early_leave_minutes=0,
    )


def test_raw_is_the_days_totals_and_punches_as_received_as_compact_json_text():
    totals, punches = working(), timerecord(*reversed(ORDINARY))
    record = read(totals, punches)
    assert isinstance(record.raw, bytes)  # the core stores JSON text as it is (hub.records.DayRecord.raw)
    assert json.loads(record.raw) == {"dailyWorking": totals, "timeRecord": punches["timeRecord"]}
    assert b": " not in record.raw and b", " not in record.raw  # compact: a sync holds tens of thousands


def test_raw_keeps_values_the_fast_encoder_refuses():
    totals = working(note=2**70)
    record = read(totals, timerecord(*ORDINARY))
    assert json.loads(record.raw)["dailyWorking"] == totals


def test_a_clock_out_the_next_morning_stays_on_the_work_date():
    record = read(working(total=420), timerecord(punch(22 * 60, "1"), punch(26 * 60, "2")))
    assert (record.work_date, record.clock_in, record.clock_out) == (WORK_DATE, 1320, 1560)  # 22:00 → 26:00


def test_minutes_count_in_the_company_time_zone():
    record = read(working(), timerecord(*ORDINARY), tz=ZoneInfo("UTC"))
    assert record.clock_in == 541 - 9 * 60  # 09:01 JST is 00:01 UTC


def test_first_clock_in_and_last_clock_out():
    punches = (punch(600, "2"), punch(540, "1"), punch(1080, "2"), punch(660, "1"))
    record = read(working(), timerecord(*punches))
    assert (record.clock_in, record.clock_out) == (540, 1080)


def test_a_missing_clock_out_is_no_code_2():
    record = read(working(total=0, brk=0, isError=True), timerecord(punch(540, "1"), punch(720, "3"), punch(780, "4")))
    assert record.clock_in == 540 and record.clock_out is None and record.missing_clock_out
    assert (record.work_minutes, record.break_minutes) == (0, 0)  # as KING OF TIME gives them


def test_outings_are_not_breaks():
    record = read(working(), timerecord(*ORDINARY, punch(840, "7"), punch(870, "8")))
    assert record.breaks == (Interval(720, 780),)


def test_several_breaks_pair_in_time_order():
    punches = (punch(900, "4"), punch(720, "3"), punch(1080, "2"), punch(885, "3"), punch(780, "4"), punch(540, "1"))
    assert read(working(), timerecord(*punches)).breaks == (Interval(720, 780), Interval(885, 900))


def test_a_break_start_without_an_end_is_left_out_and_the_day_kept(caplog):
    with caplog.at_level(logging.WARNING):
        record = read(working(), timerecord(punch(540, "1"), punch(720, "3"), punch(1080, "2")))
    assert isinstance(record, DayRecord) and record.breaks == () and (record.clock_in, record.clock_out) == (540, 1080)
    assert "break" in caplog.text


def test_a_timestamp_without_seconds_is_read_too():
    record = read(working(), timerecord(punch(541, "1", seconds=False), punch(1085, "2", seconds=False)))
    assert (record.clock_in, record.clock_out) == (541, 1085)


def test_seconds_are_dropped():
    odd = {"time": "2026-11-02T09:01:59+09:00", "code": "1"}
    assert read(working(), timerecord(odd)).clock_in == 541


def test_an_integer_punch_code_is_read_as_its_string():
    record = read(working(), timerecord({"time": at(540), "code": 1}, {"time": at(1080), "code": 2}))
    assert (record.clock_in, record.clock_out) == (540, 1080)


# --- which days are records ---


def test_a_record_with_nothing_is_no_day():
    assert read(working(total=0, brk=0), None) is None
    assert read(working(total=None, brk=None), timerecord()) is None
    assert read(None, None) is None


def test_work_minutes_without_punches_are_a_day():
    record = read(working(total=480, brk=60), None)
    assert (record.clock_in, record.clock_out, record.work_minutes, record.break_minutes) == (None, None, 480, 60)


def test_absent_totals_are_none_not_zero():
    record = read({"date": "2026-11-02", "employeeKey": KEY}, timerecord(*ORDINARY))
    assert (record.work_minutes, record.break_minutes, record.overtime_minutes, record.late_minutes) == (None,) * 4


def test_punches_without_totals_are_a_day():
    assert read(None, timerecord(*ORDINARY)).clock_in == 541


# --- leave ---


def test_a_full_day_off_keeps_its_name():
    record = read(working(total=0, brk=0, holidays={"fulltimeHoliday": {"code": 1, "name": "有休"}}), None)
    assert (record.leave, record.leave_name, record.clock_in) == (LeaveKind.FULL, "有休", None)


@pytest.mark.parametrize(("type_name", "kind"), [("AM休", LeaveKind.AM), ("PM休", LeaveKind.PM)])
def test_half_days(type_name, kind):
    holidays = {"halfdayHolidays": [{"typeName": type_name, "code": 2, "name": "特休"}], "hourHolidays": []}
    record = read(working(total=240, holidays=holidays), timerecord(punch(840, "1"), punch(1080, "2")))
    assert (record.leave, record.leave_name) == (kind, "特休")


def test_a_morning_and_an_afternoon_off_are_a_full_day():
    halves = [{"typeName": "AM休", "name": "有休"}, {"typeName": "PM休", "name": "代休"}]
    record = read(working(total=0, holidays={"halfdayHolidays": halves}), None)
    assert (record.leave, record.leave_name) == (LeaveKind.FULL, "有休・代休")


def test_hourly_leave_in_both_timestamp_forms():
    hours = [
        {"start": at(900, seconds=False), "end": at(960, seconds=False), "minutes": 60, "name": "特休"},
        {"start": at(600), "end": at(660), "minutes": 60, "code": 1, "name": "有休"},
    ]
    record = read(working(holidays={"hourHolidays": hours}), timerecord(*ORDINARY))
    assert record.hourly_leaves == (HourlyLeave(600, 660, "有休"), HourlyLeave(900, 960, "特休"))
    assert record.leave is LeaveKind.NONE


def test_empty_leave_lists_are_no_leave():
    record = read(working(holidays={"halfdayHolidays": [], "hourHolidays": []}), timerecord(*ORDINARY))
    assert (record.leave, record.leave_name, record.hourly_leaves) == (LeaveKind.NONE, None, ())


# --- what the mapping cannot read is a rejection, never a failed run ---


def test_an_unknown_half_day_type_is_rejected():
    holidays = {"halfdayHolidays": [{"typeName": "夕休", "name": "有休"}]}
    record = rejected(working(holidays=holidays), timerecord(*ORDINARY))
    assert (record.field, record.value) == ("holidaysObtained.halfdayHolidays.typeName", '"夕休"')


def test_a_bad_punch_time_is_rejected():
    record = rejected(working(), timerecord({"time": "2026-11-02T25:99:00+09:00", "code": "1"}))
    assert (record.field, record.value) == ("timeRecord.time", '"2026-11-02T25:99:00+09:00"')


def test_a_date_is_no_punch_time():
    assert rejected(working(), timerecord({"time": "2026-11-02", "code": "1"})).field == "timeRecord.time"


def test_an_unknown_punch_code_is_rejected():
    record = rejected(working(), timerecord({"time": at(540), "code": "9"}))
    assert (record.field, record.value) == ("timeRecord.code", '"9"')


@pytest.mark.parametrize("value", ["480", 480.5, True, [480]])
def test_minutes_that_are_not_an_integer_are_rejected(value):
    record = rejected(working(total=value), timerecord(*ORDINARY))
    assert (record.field, record.value) == ("totalWork", json.dumps(value, ensure_ascii=False))


def test_an_hourly_leave_ending_before_it_starts_is_rejected():
    hours = [{"start": at(960), "end": at(900), "name": "有休"}]
    assert rejected(working(holidays={"hourHolidays": hours}), None).field == "holidaysObtained.hourHolidays"


def test_a_bad_work_date_is_rejected_for_no_day():
    record = day_record(KEY, "2026-13-01", working(), None, TOKYO)
    assert isinstance(record, RejectedRecord) and record.work_date is None and record.field == "date"


# --- answers as a whole ---


def answer(items: list[dict]) -> list[dict]:
    """Items grouped by date, as /daily-workings and its timerecord answer."""
    dates = sorted({item["date"] for item in items})
    return [{"date": day, "dailyWorkings": [item for item in items if item["date"] == day]} for day in dates]


def test_totals_and_punches_are_joined_for_the_asked_employees_only():
    other = {**working(), "employeeKey": "other"}
    next_day = {**working(total=0, brk=0), "date": "2026-11-03"}  # all zeros: no day
    workings = answer([working(), other, next_day])
    punches = answer([timerecord(*ORDINARY), {**timerecord(*ORDINARY), "employeeKey": "other"}])
    records = day_records(day_items(workings), day_items(punches), {KEY}, WORK_DATE, date(2026, 11, 3), TOKYO)
    assert [(r.remote_id, r.work_date, r.clock_in) for r in records] == [(KEY, WORK_DATE, 541)]


def test_an_item_without_its_own_date_takes_its_groups():
    item = working()
    del item["date"]
    [read_item] = day_items([{"date": "2026-11-02", "dailyWorkings": [item]}])
    assert read_item["date"] == "2026-11-02"


def test_flat_throttling_body_and_error_codes():
    assert throttled({"code": "303", "message": "Too Many Requests"})
    assert not throttled({"errors": [{"code": 303, "message": "x"}]}) and not throttled([])
    assert error_codes({"errors": [{"message": "認証に失敗しました", "code": 100}, {"code": "104"}]}) == [100, 104]
    assert error_codes({"code": "303"}) == []


def test_ranges_of_at_most_62_days():
    assert date_ranges(date(2026, 1, 1), date(2026, 2, 9)) == [(date(2026, 1, 1), date(2026, 2, 9))]  # 40 days
    ranges = date_ranges(date(2026, 1, 1), date(2026, 4, 10))
    assert [(last - first).days + 1 for first, last in ranges] == [62, 38]
    assert ranges[1][0] == ranges[0][1] + timedelta(days=1)


def test_employee_keys_are_sent_only_while_the_url_stays_short():
    assert timerecord_query(WORK_DATE, WORK_DATE, ["a", "b"])["employeeKeys"] == "a,b"
    assert "employeeKeys" not in timerecord_query(WORK_DATE, WORK_DATE, [KEY] * 1000)


def test_restricted_hours_are_half_open_on_tokyo_time():
    def inside(hour: int, minute: int) -> bool:
        return window_at(mapping.RESTRICTED_WINDOWS, datetime(2026, 11, 2, hour, minute, tzinfo=TOKYO)) is not None

    assert [inside(8, 29), inside(8, 30), inside(9, 59), inside(10, 0)] == [False, True, True, False]
    assert [inside(17, 29), inside(17, 30), inside(18, 29), inside(18, 30)] == [False, True, True, False]


# --- properties: any punch order, either timestamp form ---

minutes_of_a_shift = st.lists(st.integers(0, 36 * 60 - 1), min_size=4, max_size=4, unique=True).map(sorted)


@settings(max_examples=200, deadline=None)
@given(minutes=minutes_of_a_shift, data=st.data())
def test_any_punch_order_and_timestamp_form_reads_the_same(minutes, data):
    clock_in, break_start, break_end, clock_out = minutes
    codes = [(clock_in, "1"), (break_start, "3"), (break_end, "4"), (clock_out, "2")]
    punches = [punch(minute, code, seconds=data.draw(st.booleans())) for minute, code in codes]
    shuffled = data.draw(st.permutations(punches))
    record = read(working(), timerecord(*shuffled))
    assert (record.clock_in, record.clock_out) == (clock_in, clock_out)
    assert record.breaks == (Interval(break_start, break_end),)
    assert json.loads(record.raw)["timeRecord"] == list(shuffled)  # as received, not sorted


@settings(max_examples=100, deadline=None)
@given(
    minute=st.integers(0, 48 * 60 - 1),
    zone=st.sampled_from(["Asia/Tokyo", "UTC", "America/Los_Angeles", "Asia/Kolkata"]),
)
def test_a_punch_is_minutes_past_the_work_dates_midnight_in_the_company_zone(minute, zone):
    tz = ZoneInfo(zone)
    record = read(working(), timerecord(punch(minute, "1")), tz=tz)
    instant = datetime.fromisoformat(at(minute)).astimezone(tz)
    expected = (instant.date() - WORK_DATE).days * 1440 + instant.hour * 60 + instant.minute
    assert record.clock_in == expected


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Europe/Berlin", date(2026, 10, 25)), ("America/Los_Angeles", date(2026, 3, 8)), ("Asia/Kolkata", WORK_DATE)],
)
def test_timestamps_read_as_the_full_parse_reads_them_across_a_clock_change(zone, day):
    """The mapping reads a timestamp from its hour's start once per hour; across a daylight-saving change, an
    offset of half an hour and either form, every minute reads as the whole timestamp does."""
    tz = ZoneInfo(zone)
    stamps = []
    for minute in range(-600, 2000, 7):
        moment = datetime.combine(day, time(0), tzinfo=timezone(timedelta(hours=9))) + timedelta(minutes=minute)
        stamps += [moment.isoformat(timespec="seconds"), moment.isoformat(timespec="minutes")]
        stamps.append(moment.astimezone(timezone(timedelta(hours=-3, minutes=-30))).isoformat(timespec="seconds"))
    keys = [f"k{index:05d}" for index in range(len(stamps))]
    items = [
        {"date": day.isoformat(), "employeeKey": key, "timeRecord": [{"time": stamp, "code": "1"}]}
        for key, stamp in zip(keys, stamps, strict=True)
    ]
    # Twice in one join: the second time, each timestamp is one the mapping has read already.
    records = mapping.join_punches({}, items + items, set(keys), day, day, tz)
    assert [record.remote_id for record in records] == keys  # one day each: the later item counts
    for record, stamp in zip(records, stamps, strict=True):
        assert record.clock_in == mapping.minutes_from(day, datetime.fromisoformat(stamp), tz), stamp
