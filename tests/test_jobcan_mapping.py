"""Jobcan JSON → hub records, one test per case of "How the hub reads a day" in jobcan-api.md."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.providers import ProviderError
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind, RejectedRecord, RemoteMember
from hub_plugins.jobcan.mapping import MappingError, day_record, employee_to_member, group_by_employee

TOKYO = ZoneInfo("Asia/Tokyo")
WORK_DATE = date(2026, 11, 2)


def adit(recorded_at: str, employee_id: int = 16) -> dict:
    return {"employee_id": employee_id, "group_id": 3, "date": WORK_DATE.isoformat(), "recorded_at": recorded_at}


def adits(*times: str, day: str = "2026-11-02", offset: str = "+09:00") -> list[dict]:
    """Punches at "HH:MM" on ``day``; a leading "+" puts the time on the next calendar day."""
    following = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return [adit(f"{following}T{t[1:]}:00{offset}" if t.startswith("+") else f"{day}T{t}:00{offset}") for t in times]


def summary(work: int = 480, brk: int | None = 60, holiday: dict | None = None) -> dict:
    return {"employee_id": 16, "date": "2026-11-02", "work": work, "break": brk, "over_work": 0, "holiday": holiday}


def read(summary_: dict | None, adits_: list[dict], tz=TOKYO) -> DayRecord | None:
    record = day_record(16, WORK_DATE, summary_, adits_, tz)
    assert not isinstance(record, RejectedRecord), record
    return record


def rejected(summary_: dict | None, adits_: list[dict]) -> RejectedRecord:
    """The rejection of a day the mapping cannot read: employee 16 on 2026-11-02, in the app's language."""
    record = day_record(16, WORK_DATE, summary_, adits_, TOKYO)
    assert isinstance(record, RejectedRecord), record
    assert (record.remote_id, record.work_date) == ("16", WORK_DATE)
    assert record.reason.strip()
    return record


# --- punches ---


def test_ordinary_day_with_one_break():
    record = read(summary(), adits("09:01", "12:00", "13:00", "18:05"))
    assert record == DayRecord(
        remote_id="16",
        work_date=WORK_DATE,
        clock_in=9 * 60 + 1,
        clock_out=18 * 60 + 5,
        breaks=(Interval(720, 780),),
        work_minutes=480,
        break_minutes=60,
        overtime_minutes=0,  # the summary says 0 overtime; it says nothing of late-night work
    )
    assert not record.missing_clock_out


def test_ordinary_day_with_two_breaks():
    record = read(summary(), adits("09:00", "12:00", "12:45", "15:00", "15:15", "18:00"))
    assert (record.clock_in, record.clock_out) == (540, 1080)
    assert record.breaks == (Interval(720, 765), Interval(900, 915))


def test_night_shift_past_midnight_counts_on_from_the_work_date():
    record = read(summary(), adits("18:00", "22:00", "22:30", "+02:10"))
    assert record.clock_in == 18 * 60
    assert record.clock_out == 26 * 60 + 10 == 1570
    assert record.breaks == (Interval(1320, 1350),)


def test_break_across_midnight():
    record = read(None, adits("20:00", "23:50", "+00:20", "+04:00"))
    assert record.breaks == (Interval(1430, 1460),)
    assert record.clock_out == 28 * 60


def test_seconds_are_truncated():
    record = read(None, [adit("2026-11-02T09:01:59+09:00"), adit("2026-11-02T18:00:01.5+09:00")])
    assert (record.clock_in, record.clock_out) == (541, 1080)


def test_single_punch_is_a_missing_clock_out():
    record = read(None, adits("09:00"))
    assert record.clock_in == 540
    assert record.clock_out is None
    assert record.breaks == ()
    assert record.missing_clock_out


def test_three_punches_keep_clock_in_and_the_break_so_far():
    record = read(summary(), adits("09:00", "12:00", "13:00"))
    assert record.clock_in == 540
    assert record.clock_out is None
    assert record.breaks == (Interval(720, 780),)
    assert record.missing_clock_out


def test_five_punches_end_their_last_break_at_the_final_clock_in_and_open_no_other():
    record = read(None, adits("09:00", "10:00", "10:10", "12:00", "13:00"))
    assert record.breaks == (Interval(600, 610), Interval(720, 780))
    assert record.clock_out is None


def test_unsorted_punches_are_sorted_by_instant():
    ordered = adits("09:00", "12:00", "13:00", "+01:00")
    shuffled = [ordered[2], ordered[3], ordered[0], ordered[1]]
    assert read(None, shuffled) == read(None, ordered)
    assert read(None, shuffled).clock_out == 1500


def test_unsorted_punches_with_mixed_offsets_are_sorted_by_instant_not_by_text():
    # 01:00Z is 10:00 in Tokyo, after 09:30+09:00 though it sorts first as text.
    record = read(None, [adit("2026-11-02T01:00:00Z"), adit("2026-11-02T09:30:00+09:00")])
    assert (record.clock_in, record.clock_out) == (570, 600)


@pytest.mark.parametrize("offset", ["Z", "+00:00"])
def test_utc_timestamps_map_to_the_same_minutes_as_tokyo_ones(offset):
    tokyo = adits("09:00", "12:00", "13:00", "+02:10")
    utc = adits("00:00", "03:00", "04:00", "17:10", offset=offset)
    assert read(summary(), utc) == read(summary(), tokyo)
    assert read(summary(), utc).clock_out == 1570


def test_company_time_zone_decides_the_wall_clock():
    record = read(None, adits("09:00", "18:00"), tz=ZoneInfo("UTC"))
    assert (record.clock_in, record.clock_out) == (0, 9 * 60)


def test_timestamp_without_offset_is_read_in_the_company_time_zone():
    record = read(None, [adit("2026-11-02T09:00:00"), adit("2026-11-02T18:00:00")])
    assert (record.clock_in, record.clock_out) == (540, 1080)


@pytest.mark.parametrize("bad", ["yesterday", "2026-11-02", "2026-11-02T25:00:00+09:00", "", None, 1762041660])
def test_bad_timestamp_is_a_rejection_naming_the_value(bad):
    record = rejected(summary(), [*adits("09:00"), {"employee_id": 16, "recorded_at": bad}])
    assert (record.field, record.value) == ("adits.recorded_at", json.dumps(bad))


def test_missing_recorded_at_is_a_rejection():
    assert rejected(None, [{"employee_id": 16, "date": "2026-11-02"}]).field == "adits.recorded_at"


# --- summary ---


def test_work_and_break_minutes_come_from_the_summary():
    record = read(summary(work=450, brk=75), adits("09:00", "12:00", "13:15", "18:00"))
    assert (record.work_minutes, record.break_minutes) == (450, 75)


def test_without_summary_work_and_break_are_unknown():
    record = read(None, adits("09:00", "18:00"))
    assert (record.work_minutes, record.break_minutes) == (None, None)


def test_summary_with_only_work_is_synced_without_punches():
    record = read({"employee_id": 16, "date": "2026-11-02", "work": 480}, [])
    assert record == DayRecord(remote_id="16", work_date=WORK_DATE, work_minutes=480)


def test_summary_with_zero_work_and_nothing_else_is_not_synced():
    assert read(summary(work=0, brk=0), []) is None
    assert read({"employee_id": 16, "date": "2026-11-02", "work": 0}, []) is None


def test_nothing_at_all_is_not_synced():
    assert read(None, []) is None


def test_non_numeric_minutes_are_a_rejection():
    record = rejected(summary(work="480"), [])
    assert (record.field, record.value) == ("work", '"480"')


def test_overtime_and_late_night_minutes_come_from_the_summary():
    record = read({**summary(work=600), "over_work": 120, "night_work": 30}, adits("09:00", "12:00", "13:00", "20:00"))
    assert (record.overtime_minutes, record.late_night_minutes) == (120, 30)
    # Jobcan's summary has no late or early-leave minutes: not said, so None, never 0.
    assert (record.late_minutes, record.early_leave_minutes) == (None, None)


def test_zero_overtime_is_said_and_a_missing_one_is_not():
    record = read({**summary(), "over_work": 0, "night_work": 0}, adits("09:00", "18:00"))
    assert (record.overtime_minutes, record.late_night_minutes) == (0, 0)
    record = read({"employee_id": 16, "date": "2026-11-02", "work": 480}, adits("09:00", "18:00"))
    assert (record.overtime_minutes, record.late_night_minutes) == (None, None)
    assert read(None, adits("09:00", "18:00")).overtime_minutes is None


@pytest.mark.parametrize("field", ["over_work", "night_work"])
@pytest.mark.parametrize("bad", ["120", 1.5, True, [60], {"minutes": 60}])
def test_non_integer_overtime_or_late_night_minutes_are_a_rejection_naming_field_and_value(field, bad):
    record = rejected({**summary(), field: bad}, adits("09:00", "18:00"))
    assert (record.field, record.value) == (field, json.dumps(bad, ensure_ascii=False))


def test_simulated_summaries_give_their_overtime_and_late_night_minutes():
    from hub_plugins.jobcan.simulator.data import daily_summary

    # 22:00 → 07:00 the next morning: 9 hours, 7 of them in the late-night windows, 1 over 8 hours.
    night_shift = daily_summary(16, WORK_DATE, [22 * 60, 31 * 60], None)
    record = read(night_shift, adits("22:00", "+07:00"))
    assert (record.work_minutes, record.overtime_minutes, record.late_night_minutes) == (540, 60, 420)


def test_unknown_extra_fields_are_ignored():
    extra = {**summary(), "future_field": {"x": 1}}
    punches = [{**a, "device": "ic-card"} for a in adits("09:00", "18:00")]
    assert read(extra, punches) == read(summary(), adits("09:00", "18:00"))


def test_raw_keeps_the_json_it_was_made_from():
    day_summary, punches = summary(), adits("09:00", "18:00")
    record = read(day_summary, tuple(punches))
    assert record.raw == {"summary": day_summary, "adits": punches}
    assert type(record.raw["adits"]) is list
    json.dumps(record.raw)


# --- leave ---


@pytest.mark.parametrize(("type_", "kind"), [("full", LeaveKind.FULL), ("am", LeaveKind.AM), ("pm", LeaveKind.PM)])
def test_day_leave(type_, kind):
    record = read(summary(work=0, brk=0, holiday={"type": type_, "name": "有休"}), [])
    assert record is not None
    assert (record.leave, record.leave_name, record.hourly_leaves) == (kind, "有休", ())


def test_half_day_leave_keeps_the_punches_of_the_other_half():
    record = read(summary(work=240, brk=0, holiday={"type": "am", "name": "有休"}), adits("13:00", "17:00"))
    assert (record.leave, record.clock_in, record.clock_out, record.work_minutes) == (LeaveKind.AM, 780, 1020, 240)


def test_leave_without_name():
    record = read(summary(work=0, holiday={"type": "full"}), [])
    assert (record.leave, record.leave_name) == (LeaveKind.FULL, None)


def test_hourly_leave_is_kept_apart_from_breaks():
    holiday = {"type": "hourly", "name": "時間休", "start": "14:00", "end": "16:00", "minutes": 120}
    record = read(summary(work=360, holiday=holiday), adits("09:00", "12:00", "13:00", "14:00", "16:00", "18:00"))
    assert record.leave is LeaveKind.NONE
    assert record.leave_name is None
    assert record.hourly_leaves == (HourlyLeave(840, 960, "時間休"),)
    # The punches around the leave are an ordinary out → in gap; the leave is reported on its own.
    assert record.breaks == (Interval(720, 780), Interval(840, 960))


def test_hourly_leave_only_day_is_synced():
    holiday = {"type": "hourly", "name": "時間休", "start": "09:00", "end": "10:30", "minutes": 90}
    record = read(summary(work=0, brk=0, holiday=holiday), [])
    assert record.hourly_leaves == (HourlyLeave(540, 630, "時間休"),)
    assert record.breaks == ()


def test_hourly_leave_past_midnight():
    holiday = {"type": "hourly", "name": "時間休", "start": "25:00", "end": "26:00"}
    assert read(summary(holiday=holiday), []).hourly_leaves == (HourlyLeave(1500, 1560, "時間休"),)


@pytest.mark.parametrize(
    "holiday",
    [
        {"type": "hourly", "name": "時間休", "start": "14:00"},
        {"type": "hourly", "start": "2pm", "end": "4pm"},
        {"type": "hourly", "start": "16:00", "end": "14:00"},
    ],
)
def test_malformed_hourly_leave_is_a_rejection(holiday):
    assert rejected(summary(holiday=holiday), []).field.startswith("holiday")


@pytest.mark.parametrize("type_", ["half", "FULL", None, 3, "sabbatical"])
def test_unknown_holiday_type_is_a_rejection_naming_employee_date_and_value(type_):
    record = rejected(summary(holiday={"type": type_, "name": "有休"}), adits("09:00", "18:00"))
    assert (record.field, record.value) == ("holiday.type", json.dumps(type_))


def test_holiday_that_is_not_an_object_is_a_rejection():
    record = rejected(summary(holiday="有休"), [])
    assert (record.field, record.value) == ("holiday", '"有休"')


def test_rejection_reasons_are_in_the_admins_language(app):
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert rejected(summary(holiday={"type": "sabbatical"}), []).reason == "不明な休暇の種類"


# --- employees ---


def test_employee_to_member():
    employee = {
        "id": 16,
        "employee_code": "P1001",
        "last_name": "工数",
        "first_name": "太郎",
        "main_group": 3,
        "sub_group": [5, 7],
        "work_kind": 1,
        "entered_day": "2005-01-01",
        "retired_day": None,
    }
    assert employee_to_member(employee) == RemoteMember(remote_id="16", code="P1001", name="工数 太郎")


def test_retired_employee():
    member = employee_to_member({"id": 17, "employee_code": "P1002", "last_name": "退職", "retired_day": "2026-03-31"})
    assert member.retired_on == date(2026, 3, 31)


@pytest.mark.parametrize("employee", [{"id": 18, "employee_code": ""}, {"id": 18, "employee_code": None}, {"id": 18}])
def test_employee_without_code_has_empty_code(employee):
    assert employee_to_member(employee).code == ""


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"last_name": "工数"}, "工数"),
        ({"first_name": "太郎"}, "太郎"),
        ({"last_name": "工数", "first_name": None}, "工数"),
        ({"last_name": "", "first_name": "太郎"}, "太郎"),
        ({"last_name": " 工数 ", "first_name": "太郎 "}, "工数 太郎"),
        ({}, ""),
    ],
)
def test_employee_with_missing_names(names, expected):
    assert employee_to_member({"id": 19, **names}).name == expected


def test_employee_without_id_stops_the_fetch_with_a_provider_error():
    with pytest.raises(MappingError, match="id") as raised:
        employee_to_member({"employee_code": "P1001"})
    assert isinstance(raised.value, ProviderError)  # the run fails with this message, not "unexpected error"


def test_employee_with_bad_retired_day_is_kept_and_the_value_logged(caplog):
    with caplog.at_level(logging.WARNING):
        member = employee_to_member({"id": 20, "employee_code": "P1020", "retired_day": "31/03/2026"})
    assert member == RemoteMember(remote_id="20", code="P1020", name="")
    assert "20" in caplog.text and "retired_day" in caplog.text and "31/03/2026" in caplog.text


def test_group_by_employee_keeps_order_and_uses_string_keys():
    items = [adit("2026-11-02T09:00:00+09:00", 16), adit("2026-11-02T09:05:00+09:00", 7), adit("x", 16)]
    assert group_by_employee(items) == {"16": [items[0], items[2]], "7": [items[1]]}
    assert group_by_employee([{"id": 3}], key="id") == {"3": [{"id": 3}]}
    assert group_by_employee([{"date": "2026-11-02"}]) == {}


# --- properties ---

TOKYO_MIDNIGHT = datetime(2026, 11, 2, tzinfo=TOKYO)
# Seconds after the work date's midnight, within the work day and the 36 hours a night shift may run to.
punch_seconds = st.lists(st.integers(0, 36 * 3600), unique=True, max_size=12).map(sorted)


@settings(max_examples=200, deadline=None)
@given(seconds=punch_seconds, data=st.data())
def test_property_punches_pair_into_clock_in_out_and_breaks(seconds, data):
    instants = [TOKYO_MIDNIGHT + timedelta(seconds=s) for s in seconds]
    given_order = data.draw(st.permutations(instants))
    record = read(None, [adit(i.isoformat()) for i in given_order])

    count = len(seconds)
    if count == 0:
        assert record is None
        return
    minutes = [s // 60 for s in seconds]  # Tokyo has no DST, so wall clock = elapsed time here.
    assert record.clock_in == minutes[0]
    assert (record.clock_out is not None) == (count % 2 == 0)
    if record.clock_out is not None:
        assert record.clock_out == minutes[-1]
    # in, out, in, out … : an odd count has (count - 1) / 2 complete gaps, an even one count / 2 - 1.
    assert len(record.breaks) == ((count - 1) // 2 if count % 2 else count // 2 - 1) == max(0, (count - 1) // 2)
    assert list(record.breaks) == [Interval(minutes[i], minutes[i + 1]) for i in range(1, count - 1, 2)]
    end = record.clock_out if record.clock_out is not None else minutes[-1]
    for brk in record.breaks:
        assert record.clock_in <= brk.start <= brk.end <= end
    for earlier, later in zip(record.breaks, record.breaks[1:], strict=False):
        assert earlier.end <= later.start


offsets = st.integers(-12 * 4, 14 * 4).map(lambda quarters: timezone(timedelta(minutes=15 * quarters)))
company_zones = st.sampled_from(["Asia/Tokyo", "UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham"])


@settings(max_examples=200, deadline=None)
@given(seconds=punch_seconds, data=st.data(), zone=company_zones)
def test_property_offsets_do_not_change_the_record(seconds, data, zone):
    tz = ZoneInfo(zone)
    instants = [TOKYO_MIDNIGHT + timedelta(seconds=s) for s in seconds]
    shifted = [i.astimezone(data.draw(offsets)).isoformat() for i in instants]
    assert read(summary(), [adit(s) for s in shifted], tz) == read(
        summary(), [adit(i.isoformat()) for i in instants], tz
    )
