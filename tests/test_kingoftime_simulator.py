"""The KING OF TIME simulator answers exactly as kingoftime-api.md says, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner

from hub_plugins.kingoftime.simulator import (
    JST,
    RESTRICTED_MESSAGE,
    DayKind,
    KingOfTimeSimulator,
    SimulatorConfig,
    connection_instructions,
    fixed_clock,
    generate_data,
    in_restricted_hours,
    simulator_command,
)
from hub_plugins.kingoftime.simulator import cli as simulator_cli

NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
MONDAY = date(2026, 11, 2)
PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=JST)


@contextmanager
def simulator(**overrides):
    config = SimulatorConfig(**{"employees": 6, **NOVEMBER, "clock": fixed_clock(NOON), **overrides})
    with KingOfTimeSimulator(config) as sim:
        yield sim


def call(sim, path, token=None, method="GET", **params):
    token = sim.access_token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{sim.url}/v1.0{path}", params=params, headers=headers, timeout=10)


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def error_code(response):
    return response.json()["errors"][0]["code"]


# --- tokens and authentication ---


def test_bearer_token_reads_and_a_wrong_one_is_refused_with_code_100():
    with simulator() as sim:
        assert len(ok(call(sim, "/employees"))) == 6 - 2  # as of today (Dec 2) both retired are left out
        for token in ("wrong", ""):
            refused = call(sim, "/employees", token=token)
            assert refused.status_code == 403
            assert refused.json() == {"errors": [{"message": "認証に失敗しました", "code": 100}]}
        assert sim.stats["auth_failed"] == 2 and sim.stats["403"] == 2


def test_token_available_reissue_and_delete():
    with simulator() as sim:
        old = sim.access_token
        assert ok(call(sim, f"/tokens/{old}/available")) == {"available": True}
        assert ok(call(sim, "/tokens/another/available")) == {"available": False}
        reissued = call(sim, f"/tokens/{old}", method="POST")
        assert reissued.status_code == 201
        new = reissued.json()["token"]
        assert new != old and sim.access_token == new
        assert call(sim, "/employees", token=old).status_code == 403
        ok(call(sim, "/employees", token=new))
        deleted = call(sim, f"/tokens/{new}", method="DELETE")
        assert deleted.status_code == 204 and deleted.content == b""
        assert error_code(call(sim, "/employees", token=new)) == 100
        assert sim.stats["token_available"] == 2 and sim.stats["token_reissue"] == 1
        assert sim.stats["token_delete"] == 1


def test_the_token_is_the_seeds():
    assert SimulatorConfig(seed=1).access_token == SimulatorConfig(seed=1).access_token
    assert SimulatorConfig(seed=1).access_token != SimulatorConfig(seed=2).access_token
    assert SimulatorConfig(access_token="given").access_token == "given"


# --- employees ---


def test_employees_leave_out_null_and_unasked_properties():
    with simulator() as sim:
        plain = ok(call(sim, "/employees", date="2026-11-30", includeResigner="true"))
        assert all("hiredDate" not in e and "resignationDate" not in e and "emailAddresses" not in e for e in plain)
        full = ok(
            call(
                sim,
                "/employees",
                date="2026-11-30",
                includeResigner="true",
                additionalFields="hiredDate,resignationDate",
            )
        )
        assert len(full) == 6
        for employee in full:
            assert len(employee["key"]) == 64 and int(employee["key"], 16) >= 0
            assert isinstance(employee["code"], str) and employee["lastName"] and employee["firstName"]
            assert employee["divisionName"] and "hiredDate" in employee
            assert None not in employee.values()
        assert [e.get("resignationDate") for e in full] == [None] * 4 + ["2026-10-17", "2026-11-15"]
        assert "resignationDate" not in full[0]


def test_employees_without_include_resigner_leave_out_who_retired_before_the_date():
    with simulator() as sim:
        codes = [e["code"] for e in ok(call(sim, "/employees", date="2026-11-15"))]
        assert codes == ["1001", "1002", "1003", "1004", "1006"]  # 1006's last day is the 15th
        codes = [e["code"] for e in ok(call(sim, "/employees", date="2026-11-16"))]
        assert codes == ["1001", "1002", "1003", "1004"]
        assert error_code(call(sim, "/employees", date="2026/11/16")) == 200


def test_rename_code_keeps_the_key_and_the_attendance():
    with simulator() as sim:
        employee = sim.data.employees[0]
        key = employee["key"]
        sim.rename_code(key, "A-1001")
        answer = ok(call(sim, "/employees"))
        renamed = next(e for e in answer if e["key"] == key)
        assert renamed["code"] == "A-1001"
        days = ok(call(sim, "/daily-workings", start="2026-11-02", end="2026-11-02"))
        assert key in {w["employeeKey"] for w in days[0]["dailyWorkings"]}
        with pytest.raises(ValueError):
            sim.rename_code(key, sim.data.employees[0]["code"])
        with pytest.raises(KeyError):
            sim.rename_code("0" * 64, "X")


# --- daily workings and punches ---


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-11-01"},
        {"end": "2026-11-30"},
        {},
        {"start": "2026-11-30", "end": "2026-11-01"},
        {"start": "2026-11-01", "end": "2027-01-02"},  # 63 days
        {"start": "2026-11-01", "end": "2026-11-31"},
    ],
)
def test_daily_workings_and_timerecord_need_start_and_end_within_62_days(params):
    with simulator() as sim:
        for path in ("/daily-workings", "/daily-workings/timerecord"):
            response = call(sim, path, **params)
            assert response.status_code == 400
            assert set(response.json()) == {"errors"} and response.json()["errors"][0]["message"]


def test_62_days_is_allowed_and_every_date_is_listed():
    with simulator() as sim:
        answer = ok(call(sim, "/daily-workings", start="2026-11-01", end="2027-01-01"))
        assert len(answer) == 62
        assert answer[0]["date"] == "2026-11-01" and answer[-1]["dailyWorkings"] == []


def test_daily_workings_match_the_data_with_totals_as_integers():
    with simulator() as sim:
        answer = ok(call(sim, "/daily-workings", **PERIOD))
        served = {(w["employeeKey"], date.fromisoformat(w["date"])): w for day in answer for w in day["dailyWorkings"]}
        assert served == sim.data.daily_workings
        sunday = next(day for day in answer if day["date"] == "2026-11-01")
        assert sunday["dailyWorkings"] == []  # a date without any record
        for working in served.values():
            for name in ("assigned", "unassigned", "overtime", "lateNight", "breakTime", "late", "earlyLeave"):
                assert isinstance(working[name], int)
            assert isinstance(working["totalWork"], int) and None not in working.values()


def test_timerecord_punches_are_unsorted_strings_with_seconds():
    with simulator() as sim:
        answer = ok(call(sim, "/daily-workings/timerecord", **PERIOD))
        several = 0
        for day in answer:
            for item in day["dailyWorkings"]:
                assert set(item) == {"date", "employeeKey", "timeRecord"}
                times = [punch["time"] for punch in item["timeRecord"]]
                assert all(len(t) == len("2026-11-02T09:00:00+09:00") and t.endswith(":00+09:00") for t in times)
                assert all(isinstance(punch["code"], str) for punch in item["timeRecord"])
                assert len(times) < 2 or times != sorted(times)
                several += len(times) > 1
        assert several > 50


def test_timerecord_filters_by_employee_keys():
    with simulator() as sim:
        keys = [e["key"] for e in sim.data.employees[:2]]
        answer = ok(
            call(sim, "/daily-workings/timerecord", start="2026-11-02", end="2026-11-06", employeeKeys=",".join(keys))
        )
        assert {item["employeeKey"] for day in answer for item in day["dailyWorkings"]} == set(keys)
        assert len(answer) == 5


def test_night_shift_clock_out_is_the_next_morning_on_the_work_date():
    with simulator(employees=30) as sim:
        key, day = next(k for k, kind in sim.data.day_kinds.items() if kind is DayKind.NIGHT_SHIFT)
        answer = ok(
            call(sim, "/daily-workings/timerecord", start=day.isoformat(), end=day.isoformat(), employeeKeys=key)
        )
        (item,) = answer[0]["dailyWorkings"]
        assert item["date"] == day.isoformat()
        clock_out = next(p for p in item["timeRecord"] if p["code"] == "2")
        assert clock_out["time"] == f"{day + timedelta(days=1)}T06:00:00+09:00"
        working = sim.data.daily_workings[(key, day)]
        assert working["lateNight"] == 360 and working["totalWork"] == 420


def test_a_month_of_30_employees_has_every_kind_of_day():
    data = generate_data(SimulatorConfig(employees=30, **NOVEMBER))
    assert set(data.day_kinds.values()) == set(DayKind)

    def days(kind):
        return [key for key, found in data.day_kinds.items() if found is kind]

    for key in days(DayKind.MISSING_CLOCK_OUT):
        assert data.daily_workings[key]["isError"] is True
        assert "2" not in {punch["code"] for punch in data.time_records[key]}
    missing_work = Counter(data.daily_workings[key]["totalWork"] > 0 for key in days(DayKind.MISSING_CLOCK_OUT))
    assert missing_work[False] > missing_work[True] > 0  # mostly 0, sometimes what KING OF TIME counted
    for key in days(DayKind.FULL_LEAVE):
        assert key not in data.time_records
        assert data.daily_workings[key]["holidaysObtained"]["fulltimeHoliday"]["name"] in ("有休", "特休", "代休")
    for kind, half in ((DayKind.AM_LEAVE, "AM休"), (DayKind.PM_LEAVE, "PM休")):
        for key in days(kind):
            assert data.daily_workings[key]["holidaysObtained"]["halfdayHolidays"][0]["typeName"] == half
            assert data.daily_workings[key]["totalWork"] == 240
    for key in days(DayKind.HOURLY_LEAVE):
        (leave,) = data.daily_workings[key]["holidaysObtained"]["hourHolidays"]
        assert leave["minutes"] == 120 and leave["start"].endswith("T14:00:00+09:00") and leave["name"]
        assert data.daily_workings[key]["totalWork"] == 360
    for key in days(DayKind.ABSENT) + days(DayKind.DAY_OFF):
        working = data.daily_workings[key]
        assert working["totalWork"] == working["breakTime"] == 0 and key not in data.time_records
        assert "fulltimeHoliday" not in working["holidaysObtained"]
    for key in days(DayKind.MINUTES_ONLY):
        assert data.daily_workings[key]["totalWork"] == 480 and key not in data.time_records
    for key in days(DayKind.NO_RECORD):
        assert key not in data.daily_workings
    codes = Counter(p["code"] for punches in data.time_records.values() for p in punches)
    assert set(codes) == {"1", "2", "3", "4", "7", "8"}
    overtime = [w for w in data.daily_workings.values() if w["overtime"]]
    assert overtime and all(w["unassigned"] == w["overtime"] for w in overtime)
    assert any(w["late"] for w in data.daily_workings.values())
    assert any(w["earlyLeave"] for w in data.daily_workings.values())


def test_retired_employees_have_no_records_after_their_last_day():
    data = generate_data(SimulatorConfig(employees=10, **NOVEMBER))
    before, inside = data.employees[-2], data.employees[-1]
    assert before["resignationDate"] < "2026-11-01" <= inside["resignationDate"] <= "2026-11-30"
    assert not [k for k in data.daily_workings if k[0] == before["key"]]
    assert max(k[1] for k in data.daily_workings if k[0] == inside["key"]) <= date.fromisoformat(
        inside["resignationDate"]
    )


def test_same_seed_same_data():
    first, again = generate_data(SimulatorConfig(**NOVEMBER)), generate_data(SimulatorConfig(**NOVEMBER))
    assert first == again
    other = generate_data(SimulatorConfig(seed=2, **NOVEMBER))
    assert other.employees != first.employees and other.time_records != first.time_records
    week = generate_data(SimulatorConfig(start=MONDAY, end=MONDAY + timedelta(days=4)))
    key = week.employees[0]["key"]
    assert week.daily_workings[(key, MONDAY)] == first.daily_workings[(key, MONDAY)] | {"isClosing": False}


def test_divisions():
    with simulator() as sim:
        divisions = ok(call(sim, "/divisions"))
        assert {"code": "1000", "name": "本社", "dayBorderTime": "00:00"} in divisions


# --- restricted hours, address refusal, faults ---


@pytest.mark.parametrize(
    ("hour", "minute", "restricted"),
    [(8, 29, False), (8, 30, True), (9, 59, True), (10, 0, False), (17, 29, False), (17, 30, True), (18, 29, True),
     (18, 30, False), (12, 0, False)],
)  # fmt: skip
def test_restricted_hours_follow_the_clock(hour, minute, restricted):
    assert in_restricted_hours(datetime(2026, 12, 2, hour, minute, tzinfo=JST)) is restricted
    with simulator(clock=fixed_clock(datetime(2026, 12, 2, hour, minute))) as sim:
        response = call(sim, "/daily-workings", start="2026-11-02", end="2026-11-02")
        if restricted:
            assert response.status_code == 403
            assert response.json() == {"errors": [{"message": RESTRICTED_MESSAGE, "code": 104}]}
            assert ok(call(sim, f"/tokens/{sim.access_token}/available")) == {"available": True}
            assert sim.stats["restricted"] == 1
        else:
            ok(response)


def test_set_now_moves_the_clock_and_the_default_is_outside_the_windows():
    with KingOfTimeSimulator(SimulatorConfig(employees=2, **NOVEMBER)) as sim:
        assert not in_restricted_hours(sim.now())
        ok(call(sim, "/divisions"))
        sim.set_now(datetime(2026, 12, 2, 17, 45))
        assert error_code(call(sim, "/divisions")) == 104
        assert error_code(call(sim, "/employees")) == 104
        sim.set_now(datetime(2026, 12, 2, 7, 40, tzinfo=UTC))  # 16:40 JST
        ok(call(sim, "/divisions"))
        sim.set_now(None)
        ok(call(sim, "/divisions"))


def test_restricted_hours_can_be_switched_off():
    with simulator(clock=fixed_clock(datetime(2026, 12, 2, 9, 0)), restricted_hours=False) as sim:
        ok(call(sim, "/divisions"))


def test_address_refusal_spares_the_token_endpoints():
    with simulator(refuse_address=True) as sim:
        assert ok(call(sim, f"/tokens/{sim.access_token}/available")) == {"available": True}
        refused = call(sim, "/employees")
        assert refused.status_code == 403 and error_code(refused) == 100
        sim.refuse_address(False)
        ok(call(sim, "/employees"))
        assert sim.stats["address_refused"] == 1


def test_throttling_as_http_429_with_retry_after():
    with simulator(rate_limit_rps=2) as sim:
        answers = [call(sim, "/divisions") for _ in range(5)]
        throttled = [a for a in answers if a.status_code == 429]
        assert len(throttled) >= 2
        assert throttled[0].json() == {"code": "303", "message": "Too Many Requests"}
        assert int(throttled[0].headers["Retry-After"]) >= 1
        assert sim.stats["throttled"] == sim.stats["429"] == len(throttled)
        time.sleep(1.1)
        ok(call(sim, "/divisions"))


def test_throttling_as_the_flat_303_body():
    with simulator(rate_limit_rps=1, throttle_shape="body303") as sim:
        ok(call(sim, "/divisions"))
        throttled = call(sim, f"/tokens/{sim.access_token}/available")  # the limiter sees every endpoint
        assert throttled.status_code != 429 and "Retry-After" not in throttled.headers
        assert throttled.json() == {"code": "303", "message": "Too Many Requests"}
        assert sim.stats["throttled"] == 1 and sim.stats["429"] == 0


def test_random_500_code_300_spares_the_token_endpoints():
    with simulator(rate_500=1.0) as sim:
        failed = call(sim, "/employees")
        assert failed.status_code == 500
        assert failed.json() == {"errors": [{"message": "Resource Server Error.", "code": 300}]}
        assert ok(call(sim, f"/tokens/{sim.access_token}/available"))["available"] is True
        assert sim.stats["500"] == 1


def test_fail_next_queues_faults_for_one_endpoint():
    with simulator() as sim:
        sim.fail_next(2, "server_error", endpoint="timerecord")
        sim.fail_next(1, "throttled")
        assert call(sim, "/daily-workings/timerecord", start="2026-11-02", end="2026-11-02").status_code == 500
        assert call(sim, "/employees").status_code == 429
        assert call(sim, "/daily-workings/timerecord", start="2026-11-02", end="2026-11-02").status_code == 500
        ok(call(sim, "/employees"))
        sim.fail_next(1, "refused")
        assert error_code(call(sim, "/employees")) == 100
        with pytest.raises(ValueError):
            sim.fail_next(1, "server_error", endpoint="nope")


def test_latency_and_stats_reset():
    with simulator(latency_ms=100) as sim:
        began = time.perf_counter()
        ok(call(sim, "/divisions"))
        assert time.perf_counter() - began >= 0.1
        assert sim.stats["total"] == 1 and sim.stats["divisions"] == 1
        sim.reset_stats()
        assert sim.stats == Counter()


@pytest.mark.parametrize(
    "bad",
    [{"rate_500": 2}, {"rate_limit_rps": 0}, {"throttle_shape": "teapot"}, {"employees": -1},
     {"start": date(2026, 11, 2), "end": date(2026, 11, 1)}],
)  # fmt: skip
def test_settings_are_checked(bad):
    with pytest.raises(ValueError):
        SimulatorConfig(**bad)


# --- command ---


def test_simulator_command_help():
    result = CliRunner().invoke(simulator_command, ["--help"])
    assert result.exit_code == 0, result.output
    for option in ("--port", "--employees", "--seed", "--latency-ms", "--rate-limit-rps", "--throttle-shape",
                   "--rate-500", "--refuse-address", "--restricted-hours", "--from", "--to", "--retired"):  # fmt: skip
        assert option in result.output


def test_simulator_command_prints_what_to_type_into_the_hub(monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator_cli, "_wait_for_interrupt", interrupt)
    arguments = ["--port", "0", "--from", "2026-11-01", "--rate-limit-rps", "5", "--throttle-shape", "body303"]
    result = CliRunner().invoke(simulator_command, [*arguments, "--refuse-address", "--restricted-hours", "real"])
    assert result.exit_code == 0, result.output
    token = SimulatorConfig().access_token
    assert f"--set access_token={token} --set environment=custom --set api_base_url=http://127.0.0.1:" in result.output
    assert "1001–1030" in result.output and "2026-11-01 – 2026-11-30" in result.output
    assert "rate limit 5 requests/s, throttled as body303" in result.output
    assert "address refused" in result.output and "08:30–10:00" in result.output
    assert "stopped" in result.output


def test_connection_instructions_name_the_token_and_url():
    with simulator(employees=3, retired=0) as sim:
        text = connection_instructions(sim)
        assert text.count(sim.url) >= 3 and sim.access_token in text
        assert "1001–1003" in text and "retired" not in text
