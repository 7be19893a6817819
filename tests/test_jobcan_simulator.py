"""The Jobcan simulator answers exactly as jobcan-api.md says, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner

from hub_plugins.jobcan.simulator import (
    SCOPES,
    DayKind,
    JobcanSimulator,
    SimulatorConfig,
    connection_instructions,
    generate_data,
    simulator_command,
)
from hub_plugins.jobcan.simulator import cli as simulator_cli

NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
MONDAY = date(2026, 11, 2)
SUMMARY_KEYS = {"employee_id", "date", "work", "break", "over_work", "night_work", "holiday", "absence"}
ADIT_KEYS = {"employee_id", "group_id", "date", "recorded_at"}


@contextmanager
def simulator(clock=time.monotonic, **overrides):
    config = SimulatorConfig(**{"employees": 5, "start": MONDAY, "end": MONDAY, **overrides})
    with JobcanSimulator(config, clock=clock) as sim:
        yield sim


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def request_token(sim, scope=None, grant_type="client_credentials", secret=None):
    data = {"grant_type": grant_type}
    if scope is not None:
        data["scope"] = scope
    auth = (sim.client_id, sim.client_secret if secret is None else secret)
    return requests.post(f"{sim.url}/oauth/token", data=data, auth=auth, timeout=5)


def token(sim, scope=None):
    response = request_token(sim, scope)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def get(sim, path, access_token, **params):
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return requests.get(f"{sim.url}{path}", params=params, headers=headers, timeout=5)


def refresh(sim, access_token, employee_id, start, end):
    body = {"conditions": {"range": {"from": start, "to": end}}}
    return requests.post(
        f"{sim.url}/attendance/v1/summaries/daily/{employee_id}/refresh",
        json=body,
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )


def all_pages(sim, access_token, path, key, **params):
    """Every page of a list endpoint, following last_id as the hub does."""
    pages, last_id = [], 0
    while True:
        response = get(sim, path, access_token, last_id=last_id, **params)
        assert response.status_code == 200, response.text
        items = response.json()[key]
        pages.append(items)
        employees = {item.get("employee_id", item.get("id")) for item in items}
        if len(employees) < params.get("count", 100):
            return pages
        last_id = items[-1].get("employee_id", items[-1].get("id"))


# --- token ---


def test_token_with_basic_auth_grants_every_scope():
    with simulator() as sim:
        response = request_token(sim, " ".join(SCOPES))
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert body["scope"].split() == list(SCOPES)
        assert get(sim, "/master/v1/employees", body["access_token"]).status_code == 200


def test_token_refuses_a_wrong_secret_or_no_basic_auth():
    with simulator() as sim:
        response = request_token(sim, secret="wrong")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        anonymous = requests.post(f"{sim.url}/oauth/token", data={"grant_type": "client_credentials"}, timeout=5)
        assert anonymous.status_code == 401


def test_token_refuses_another_grant_type_and_unknown_scopes():
    with simulator() as sim:
        response = request_token(sim, grant_type="password")
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
        response = request_token(sim, scope="employees.read payroll.write")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"


def test_scope_lists_only_what_was_both_requested_and_granted():
    with simulator(granted_scopes=("employees.read", "summaries.read", "summaries.create")) as sim:
        body = request_token(sim, " ".join(SCOPES)).json()
        assert body["scope"] == "employees.read summaries.create summaries.read"
        access_token = body["access_token"]
        assert get(sim, "/master/v1/employees", access_token).status_code == 200
        forbidden = get(sim, "/attendance/v1/adits", access_token, date=MONDAY.isoformat())
        assert forbidden.status_code == 403
        assert forbidden.json()["errors"][0]["code"] == "forbidden"

        narrow = token(sim, "employees.read")
        assert get(sim, "/attendance/v1/summaries/daily", narrow, date=MONDAY.isoformat()).status_code == 403


def test_token_expires_after_its_lifetime():
    with simulator(token_lifetime=1) as sim:
        access_token = token(sim)
        assert get(sim, "/master/v1/employees", access_token).status_code == 200
        time.sleep(1.1)
        expired = get(sim, "/master/v1/employees", access_token)
        assert expired.status_code == 401
        assert expired.json()["errors"][0]["code"] == "unauthorized"


def test_expire_tokens_and_missing_or_unknown_bearer_answer_401():
    with simulator() as sim:
        access_token = token(sim)
        sim.expire_tokens()
        assert get(sim, "/master/v1/employees", access_token).status_code == 401
        assert get(sim, "/master/v1/employees", None).status_code == 401
        assert get(sim, "/master/v1/employees", "made-up").status_code == 401
        assert get(sim, "/master/v1/employees", token(sim)).status_code == 200


# --- paging ---


def test_employees_page_by_last_id_over_non_contiguous_ids():
    with simulator(employees=250) as sim:
        access_token = token(sim)
        pages = all_pages(sim, access_token, "/master/v1/employees", "employees", count=100)
        assert [len(page) for page in pages] == [100, 100, 50]
        ids = [employee["id"] for page in pages for employee in page]
        assert ids == sorted(set(ids)) == [employee["id"] for employee in sim.data.employees]
        assert ids[-1] > len(ids)  # gaps between ids


def test_exactly_two_full_pages_end_with_an_empty_one():
    with simulator(employees=200) as sim:
        pages = all_pages(sim, token(sim), "/master/v1/employees", "employees", count=100)
        assert [len(page) for page in pages] == [100, 100, 0]


@pytest.mark.parametrize("params", [{"count": 101}, {"count": 0}, {"count": "ten"}, {"last_id": -1}])
def test_bad_paging_parameters_answer_400(params):
    with simulator() as sim:
        response = get(sim, "/master/v1/employees", token(sim), **params)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "invalid_parameter"


def test_summaries_page_by_employee_id():
    with simulator(employees=30) as sim:
        pages = all_pages(
            sim, token(sim), "/attendance/v1/summaries/daily", "daily_summaries", date="2026-11-02", count=7
        )
        summaries = [summary for page in pages for summary in page]
        expected = [s for (employee_id, day), s in sorted(sim.data.summaries.items()) if day == MONDAY]
        assert sorted(summaries, key=lambda s: s["employee_id"]) == expected
        assert all(len(page) == 7 for page in pages[:-1])


def test_adits_page_limits_employees_not_punches():
    with simulator(employees=30) as sim:
        access_token = token(sim)
        first = get(sim, "/attendance/v1/adits", access_token, date="2026-11-02", count=2).json()["adits"]
        on_page = sorted({adit["employee_id"] for adit in first})
        assert len(on_page) == 2
        assert len(first) > 2
        assert first == [adit for employee_id in on_page for adit in sim.data.adits[(employee_id, MONDAY)]]

        pages = all_pages(sim, access_token, "/attendance/v1/adits", "adits", date="2026-11-02", count=2)
        punches = [adit for page in pages for adit in page]
        assert punches == [
            adit for (_, day), adits in sorted(sim.data.adits.items()) if day == MONDAY for adit in adits
        ]


# --- one employee ---


def test_summaries_for_one_employee_take_1_to_31_dates():
    with simulator(employees=3, **NOVEMBER) as sim:
        access_token = token(sim)
        employee_id = sim.data.employees[0]["id"]
        path = f"/attendance/v1/summaries/daily/{employee_id}"
        days = [f"2026-11-{day:02d}" for day in range(1, 31)]
        answered = get(sim, path, access_token, date=days).json()["daily_summaries"]
        assert answered == [s for (eid, _), s in sorted(sim.data.summaries.items()) if eid == employee_id]
        assert {d.isoformat() for (eid, d), kind in sim.data.day_kinds.items() if kind is DayKind.DAY_OFF} & {
            s["date"] for s in answered
        } == set()
        assert get(sim, path, access_token).status_code == 400
        assert get(sim, path, access_token, date=[*days, "2026-12-01", "2026-12-02"]).status_code == 400
        assert get(sim, path, access_token, date="2026-11-31").status_code == 400
        assert get(sim, path, access_token, date="20261102").status_code == 400
        assert get(sim, "/attendance/v1/summaries/daily/999999", access_token, date="2026-11-02").status_code == 404
        assert get(sim, "/attendance/v1/adits/999999", access_token, date="2026-11-02").status_code == 404


def test_night_shift_punches_keep_the_work_date():
    with simulator(employees=30, **NOVEMBER) as sim:
        employee_id, day = next(key for key, kind in sorted(sim.data.day_kinds.items()) if kind is DayKind.NIGHT_SHIFT)
        access_token = token(sim)
        adits = get(sim, f"/attendance/v1/adits/{employee_id}", access_token, date=day.isoformat()).json()["adits"]
        assert [adit["date"] for adit in adits] == [day.isoformat()] * 4
        moments = [datetime.fromisoformat(adit["recorded_at"]) for adit in adits]
        assert moments == sorted(moments)
        assert moments[0].date() == day and moments[0].hour == 22
        assert moments[-1].date() == day + timedelta(days=1) and moments[-1].hour == 6
        next_day = get(
            sim, f"/attendance/v1/adits/{employee_id}", access_token, date=(day + timedelta(days=1)).isoformat()
        )
        assert all(adit["date"] == (day + timedelta(days=1)).isoformat() for adit in next_day.json()["adits"])
        summary = sim.data.summaries[(employee_id, day)]
        assert (summary["work"], summary["break"], summary["night_work"]) == (420, 60, 360)


# --- refresh ---


def test_refresh_answers_processing_n_times_then_finished():
    with simulator(refresh_polls=2) as sim:
        access_token = token(sim)
        employee_id = sim.data.employees[0]["id"]
        statuses = [
            refresh(sim, access_token, employee_id, "2026-11-01", "2026-11-08").json()["refresh"]["status"]
            for _ in range(3)
        ]
        assert statuses == ["processing", "processing", "finished"]
        other_range = refresh(sim, access_token, employee_id, "2026-11-08", "2026-11-15")
        assert other_range.json() == {"refresh": {"status": "processing"}}
        assert sim.stats["refresh"] == 4


def test_refresh_checks_its_body():
    with simulator() as sim:
        access_token = token(sim)
        employee_id = sim.data.employees[0]["id"]
        form = requests.post(
            f"{sim.url}/attendance/v1/summaries/daily/{employee_id}/refresh",
            data={"from": "2026-11-01", "to": "2026-11-08"},
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=5,
        )
        assert form.status_code == 415
        assert form.json()["errors"][0]["code"] == "unsupported_media_type"
        assert refresh(sim, access_token, employee_id, "2026-11-01", "2026-12-03").status_code == 400  # 32 days
        assert refresh(sim, access_token, employee_id, "2026-11-01", "2026-12-02").status_code == 200  # 31 days
        assert refresh(sim, access_token, employee_id, "2026-11-08", "2026-11-08").status_code == 400
        assert refresh(sim, access_token, employee_id, "11/01", "2026-11-08").status_code == 400
        assert refresh(sim, access_token, 999999, "2026-11-01", "2026-11-08").status_code == 404


# --- faults ---


def test_fail_next_answers_429_with_and_without_retry_after():
    with simulator() as sim:
        access_token = token(sim)
        sim.fail_next(1, 429, retry_after=7)
        sim.fail_next(1, 429)
        first = get(sim, "/master/v1/employees", access_token)
        assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
        assert first.json()["errors"][0]["code"] == "too_many_requests"
        second = get(sim, "/master/v1/employees", access_token)
        assert second.status_code == 429
        assert "Retry-After" not in second.headers
        assert get(sim, "/master/v1/employees", access_token).status_code == 200
        sim.fail_next(3, 503)
        sim.clear_faults()
        assert get(sim, "/master/v1/employees", access_token).status_code == 200


def test_fail_next_spares_the_token_endpoint_unless_aimed_at_it():
    with simulator() as sim:
        sim.fail_next(2, 503)
        access_token = token(sim)
        assert [get(sim, "/master/v1/employees", access_token).status_code for _ in range(3)] == [503, 503, 200]
        sim.fail_next(1, 500, endpoint="token")
        failed = request_token(sim)
        assert (failed.status_code, failed.json()["error"]) == (500, "server_error")
        assert request_token(sim).status_code == 200


def test_random_faults_hit_api_calls_only():
    with simulator(rate_429=1.0, retry_after=None) as sim:
        access_token = token(sim)
        response = get(sim, "/master/v1/employees", access_token)
        assert response.status_code == 429
        assert "Retry-After" not in response.headers
    with simulator(rate_5xx=1.0) as sim:
        assert {get(sim, "/master/v1/employees", token(sim)).status_code for _ in range(6)} <= {500, 502, 503}


def test_latency_and_stats():
    with simulator(latency_ms=60) as sim:
        access_token = token(sim)
        began = time.monotonic()
        get(sim, "/master/v1/employees", access_token)
        assert time.monotonic() - began >= 0.06
        assert sim.stats == Counter({"total": 2, "token": 1, "employees": 1})
        sim.reset_stats()
        assert sim.stats["total"] == 0


def test_rate_limit_is_shared_by_every_endpoint_and_says_when_to_retry():
    clock = FakeClock()
    with simulator(clock=clock, rate_limit_rps=2) as sim:
        access_token = token(sim)  # the token endpoint takes from the same bucket
        assert get(sim, "/master/v1/employees", access_token).status_code == 200
        limited = get(sim, "/master/v1/employees", access_token)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")  # 0.5 s, rounded up
        refused = request_token(sim)
        assert (refused.status_code, refused.json()["error"]) == (429, "temporarily_unavailable")
        clock.now += 0.5
        assert get(sim, "/master/v1/employees", access_token).status_code == 200
        assert (sim.stats["total"], sim.stats["429"], sim.stats["rate_limited"]) == (5, 2, 2)
    with simulator(clock=clock, rate_limit_rps=0.25) as sim:
        access_token = token(sim)
        assert get(sim, "/master/v1/employees", access_token).headers["Retry-After"] == "4"


def test_429_bursts_come_every_m_calls_with_or_without_retry_after():
    with simulator(burst_429_every=3, burst_429_length=2, retry_after=None) as sim:
        access_token = token(sim)  # not counted: bursts spare the token endpoint by default
        answers = [get(sim, "/master/v1/employees", access_token) for _ in range(6)]
        assert [answer.status_code for answer in answers] == [200, 429, 429, 200, 429, 429]
        assert not any("Retry-After" in answer.headers for answer in answers)
        assert sim.stats["429"] == 4
    with simulator(burst_429_every=2, burst_429_length=1, retry_after=3, faults_on_token=True) as sim:
        assert request_token(sim).status_code == 200
        refused = request_token(sim)
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "3")


def test_faults_on_token_make_random_faults_hit_the_token_endpoint():
    with simulator(rate_5xx=1.0, faults_on_token=True) as sim:
        answer = request_token(sim)
        assert answer.status_code in (500, 502, 503)
        assert answer.json()["error"] == "server_error"


def test_dropped_connections_end_without_an_answer():
    with simulator(drop_rate=1.0) as sim:
        access_token = token(sim)
        with pytest.raises(requests.ConnectionError):
            get(sim, "/master/v1/employees", access_token)
        assert sim.stats["dropped"] == 1
    with simulator(drop_rate=1.0, faults_on_token=True) as sim, pytest.raises(requests.ConnectionError):
        request_token(sim)


def test_slow_answers_pass_a_short_read_timeout():
    with simulator(slow_rate=1.0, slow_ms=500) as sim:
        access_token = token(sim)
        with pytest.raises(requests.ReadTimeout):
            requests.get(
                f"{sim.url}/master/v1/employees",
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=(5, 0.1),  # the answer cannot come before 500 ms
            )
        assert sim.stats["slow"] == 1


def test_last_success_is_the_time_of_the_latest_2xx_answer():
    clock = FakeClock()
    with simulator(clock=clock) as sim:
        assert sim.last_success is None
        access_token = token(sim)
        assert sim.last_success == 1000.0
        clock.now += 5
        sim.fail_next(1, 503)
        get(sim, "/master/v1/employees", access_token)
        assert sim.last_success == 1000.0


@pytest.mark.parametrize(
    "bad",
    [
        {"rate_limit_rps": 0},
        {"drop_rate": 1.5},
        {"slow_rate": -0.1},
        {"slow_ms": -1},
        {"burst_429_length": 3, "burst_429_every": 2},
        {"burst_429_length": 1},
    ],
)
def test_fault_settings_are_checked(bad):
    with pytest.raises(ValueError):
        SimulatorConfig(**bad)


# --- data ---


def test_same_seed_same_data_and_secret():
    first, again = generate_data(SimulatorConfig(**NOVEMBER)), generate_data(SimulatorConfig(**NOVEMBER))
    assert first == again
    other = generate_data(SimulatorConfig(seed=2, **NOVEMBER))
    assert other.employees != first.employees
    assert other.adits != first.adits
    assert SimulatorConfig(seed=1).client_secret == SimulatorConfig(seed=1).client_secret
    assert SimulatorConfig(seed=1).client_secret != SimulatorConfig(seed=2).client_secret


def test_a_month_of_30_employees_has_every_kind_of_day():
    data = generate_data(SimulatorConfig(employees=30, **NOVEMBER))
    assert set(data.day_kinds.values()) == set(DayKind)
    codes = [employee["employee_code"] for employee in data.employees]
    assert codes.count("") == 1
    assert [code for code in codes if code] == sorted(code for code in codes if code)
    for summary in data.summaries.values():
        assert set(summary) == SUMMARY_KEYS
    for adits in data.adits.values():
        assert all(set(adit) == ADIT_KEYS and adit["recorded_at"].endswith("+09:00") for adit in adits)
        assert [adit["recorded_at"] for adit in adits] == sorted(adit["recorded_at"] for adit in adits)

    def days(kind):
        return [key for key, found in data.day_kinds.items() if found is kind]

    for key in days(DayKind.DAY_OFF) + days(DayKind.ABSENT):
        assert key not in data.summaries and key not in data.adits
        assert key[1].weekday() >= 5 or data.day_kinds[key] is DayKind.ABSENT
    for key in days(DayKind.ORDINARY):
        assert len(data.adits[key]) in (4, 6) and data.summaries[key]["holiday"] is None
    for key in days(DayKind.MISSING_CLOCK_OUT):
        assert len(data.adits[key]) == 1
        assert key not in data.summaries or data.summaries[key]["work"] == 0
    for key in days(DayKind.FULL_LEAVE):
        assert key not in data.adits
        assert data.summaries[key]["holiday"]["type"] == "full" and data.summaries[key]["work"] == 0
    for kind, leave in ((DayKind.AM_LEAVE, "am"), (DayKind.PM_LEAVE, "pm")):
        for key in days(kind):
            assert len(data.adits[key]) == 2
            assert data.summaries[key]["holiday"] == {"type": leave, "name": "有休"}
            assert data.summaries[key]["work"] == 240
    for key in days(DayKind.HOURLY_LEAVE):
        assert data.summaries[key]["holiday"] == {
            "type": "hourly",
            "name": "有休",
            "start": "14:00",
            "end": "16:00",
            "minutes": 120,
        }
        assert len(data.adits[key]) == 4 and data.summaries[key]["work"] == 360


def test_set_day_replaces_and_removes_one_day():
    with simulator() as sim:
        employee_id = sim.data.employees[0]["id"]
        access_token = token(sim)
        sim.set_day(employee_id, MONDAY, {"work": 1500}, ["2026-11-02T08:00:00+09:00", "2026-11-03T09:00:00+09:00"])
        path = f"/attendance/v1/summaries/daily/{employee_id}"
        assert get(sim, path, access_token, date="2026-11-02").json()["daily_summaries"] == [
            {"employee_id": employee_id, "date": "2026-11-02", "work": 1500}
        ]
        adits = get(sim, f"/attendance/v1/adits/{employee_id}", access_token, date="2026-11-02").json()["adits"]
        assert [adit["recorded_at"] for adit in adits] == ["2026-11-02T08:00:00+09:00", "2026-11-03T09:00:00+09:00"]
        sim.set_day(employee_id, MONDAY, None, None)
        assert get(sim, path, access_token, date="2026-11-02").json()["daily_summaries"] == []
        assert get(sim, f"/attendance/v1/adits/{employee_id}", access_token, date="2026-11-02").json()["adits"] == []


# --- command ---


def test_simulator_command_help():
    result = CliRunner().invoke(simulator_command, ["--help"])
    assert result.exit_code == 0, result.output
    options = ("--port", "--from", "--to", "--rate-429", "--retry-after", "--missing-scope", "--refresh-polls")
    options += ("--rate-limit-rps", "--burst-429", "--burst-every", "--drop-rate", "--slow-rate", "--slow-ms")
    for option in (*options, "--faults-on-token"):
        assert option in result.output


def test_simulator_command_prints_what_to_type_into_the_hub(monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator_cli, "_wait_for_interrupt", interrupt)
    arguments = ["--port", "0", "--from", "2026-11-01", "--missing-scope", "adits.read", "--retry-after", "none"]
    arguments += ["--rate-limit-rps", "18", "--burst-429", "1", "--burst-every", "7", "--faults-on-token"]
    result = CliRunner().invoke(simulator_command, arguments)
    assert result.exit_code == 0, result.output
    assert "custom" in result.output
    assert "http://127.0.0.1:" in result.output
    assert "sim-client" in result.output
    assert SimulatorConfig().client_secret in result.output
    assert "P1001–P1030; 1 without a code" in result.output
    assert "2026-11-01 – 2026-11-30" in result.output
    assert "not granted: adits.read" in result.output
    assert "rate limit 18 requests/s" in result.output
    assert "429 on the last 1 of every 7 calls" in result.output
    assert "the token endpoint too" in result.output
    assert "stopped" in result.output


def test_simulator_command_refuses_a_burst_longer_than_its_cycle():
    result = CliRunner().invoke(simulator_command, ["--port", "0", "--burst-429", "3", "--burst-every", "2"])
    assert result.exit_code == 2
    assert "--burst-429 cannot exceed --burst-every" in result.output


def test_connection_instructions_name_the_secret_and_urls():
    with simulator(employees=3, empty_codes=0) as sim:
        text = connection_instructions(sim)
        assert text.count(sim.url) >= 3
        assert sim.client_secret in text
        assert "P1001–P1003" in text and "without a code" not in text
