"""The KING OF TIME client and provider against requests-mock: throttling in both shapes, 403 code 100 vs 104,
500 code 300 retried, the check's messages, the secret kept out, and three requests for a 40-day sync.

Over 300 lines: one test per behaviour of the contract's errors and of check(), beside the fake answers they share.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hub.pacing import Pace
from hub.providers import (
    CheckStatus,
    Deadline,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    ProviderSettings,
    RateLimited,
)
from hub.records import DayRecord
from hub_plugins.kingoftime.client import ClientOptions, KingOfTimeClient, RestrictedHours
from hub_plugins.kingoftime.provider import KingOfTimeProvider, api_base

ROOT = "https://kot.test"
API = f"{ROOT}/v1.0"
TOKEN = "t0ken-VALUE-0123456789abcdef"
EMPLOYEES = f"{API}/employees"
DAILY = f"{API}/daily-workings"
TIMERECORD = f"{API}/daily-workings/timerecord"
AVAILABLE = f"{API}/tokens/{TOKEN}/available"
NOON_JST = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
NINE_JST = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
AUTH_FAILED = {"errors": [{"message": "認証に失敗しました", "code": 100}]}
RESTRICTED = {"errors": [{"message": "次の時間帯(JST)はAPIへのアクセスが禁止されています", "code": 104}]}
SERVER_ERROR = {"errors": [{"message": "Resource Server Error.", "code": 300}]}
THROTTLED = {"code": "303", "message": "Too Many Requests"}


class Clock:
    """Monotonic and wall clock in one, moving only when the client sleeps."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 1e-6:
            self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _jitter():
    random.seed(12)


@pytest.fixture
def clock():
    return Clock()


def fast_pace(clock: Clock, **options) -> Pace:
    return Pace(1e9, ceiling=1e9, clock=clock, wall=clock, **options)


@pytest.fixture
def client(clock):
    return KingOfTimeClient(ClientOptions(API, TOKEN), pace=fast_pace(clock), sleep=clock.sleep)


def settings(clock: Clock, deadline: Deadline | None = None, **values) -> ProviderSettings:
    values = {"access_token": TOKEN, "environment": "custom", "api_base_url": ROOT, **values}
    return ProviderSettings(key="1", values=values, pace=fast_pace(clock), deadline=deadline or Deadline(clock=clock))


def provider(clock: Clock, now: datetime = NOON_JST) -> KingOfTimeProvider:
    return KingOfTimeProvider(sleep=clock.sleep, now=lambda: now)


# --- requests ---


def test_the_token_goes_as_a_bearer_header(requests_mock, client):
    requests_mock.get(EMPLOYEES, json=[])
    client.employees(date(2026, 11, 30))
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert parse_qs(urlsplit(sent.url).query) == {
        "date": ["2026-11-30"],
        "includeResigner": ["true"],
        "additionalFields": ["hiredDate,resignationDate"],
    }


def test_the_custom_url_is_the_root_and_the_version_is_added():
    assert api_base(ProviderSettings("1", {"environment": "custom", "api_base_url": "http://127.0.0.1:8760/"})) == (
        "http://127.0.0.1:8760/v1.0"
    )
    assert api_base(ProviderSettings("1", {"environment": "custom", "api_base_url": f"{API}"})) == API
    assert api_base(ProviderSettings("1", {"environment": "production"})) == "https://api.kingtime.jp/v1.0"


def test_the_token_endpoint_quotes_the_token(requests_mock, clock):
    odd = KingOfTimeClient(ClientOptions(API, "a/b c"), pace=fast_pace(clock), sleep=clock.sleep)
    requests_mock.get(f"{API}/tokens/a%2Fb%20c/available", json={"available": True})
    assert odd.token_available()


# --- throttling, both shapes ---


def test_a_429_honours_retry_after(requests_mock, client, clock):
    requests_mock.get(
        EMPLOYEES, [{"status_code": 429, "json": THROTTLED, "headers": {"Retry-After": "7"}}, {"json": []}]
    )
    assert client.employees(date(2026, 11, 30)) == []
    assert clock.slept == [pytest.approx(7.0)] and client.pace.throttled == 1


@pytest.mark.parametrize("status", [403, 200, 400])
def test_the_flat_303_body_is_throttling_whatever_the_status(requests_mock, client, clock, status):
    requests_mock.get(EMPLOYEES, [{"status_code": status, "json": THROTTLED}, {"json": [{"key": "k"}]}])
    assert client.employees(date(2026, 11, 30)) == [{"key": "k"}]
    assert client.pace.throttled == 1  # counted as a 429 by the pace
    assert len(clock.slept) == 1  # a backoff before the retry


def test_the_flat_303_body_with_retry_after_pauses_like_a_429(requests_mock, client, clock):
    requests_mock.get(
        EMPLOYEES, [{"status_code": 403, "json": THROTTLED, "headers": {"Retry-After": "3"}}, {"json": []}]
    )
    client.employees(date(2026, 11, 30))
    assert clock.slept == [pytest.approx(3.0)]


@pytest.mark.parametrize("status", [429, 403])
def test_throttling_that_never_ends_is_rate_limited_once_the_budget_is_spent(requests_mock, clock, status):
    client = KingOfTimeClient(ClientOptions(API, TOKEN), pace=fast_pace(clock, stall_seconds=30), sleep=clock.sleep)
    requests_mock.get(EMPLOYEES, status_code=status, json=THROTTLED)
    with pytest.raises(RateLimited) as raised:
        client.employees(date(2026, 11, 30))
    assert "30 s" in str(raised.value) and clock.now < 60


def test_a_retry_after_past_the_deadline_is_a_rate_limit_saying_when(requests_mock, clock):
    deadline = Deadline(10, clock=clock)
    client = KingOfTimeClient(ClientOptions(API, TOKEN), pace=fast_pace(clock), sleep=clock.sleep, deadline=deadline)
    requests_mock.get(EMPLOYEES, status_code=429, json=THROTTLED, headers={"Retry-After": "60"})
    with pytest.raises(RateLimited, match="60 s"):
        client.employees(date(2026, 11, 30))
    assert clock.now < 10


# --- errors ---


def test_500_code_300_is_retried_with_backoff(requests_mock, client, clock):
    requests_mock.get(DAILY, [{"status_code": 500, "json": SERVER_ERROR}] * 2 + [{"json": []}])
    assert client.daily_workings(date(2026, 11, 1), date(2026, 11, 30)) == []
    assert requests_mock.call_count == 3 and len(clock.slept) == 2


def test_500_that_never_ends_names_the_server_error(requests_mock, clock):
    client = KingOfTimeClient(ClientOptions(API, TOKEN), pace=fast_pace(clock, stall_seconds=20), sleep=clock.sleep)
    requests_mock.get(DAILY, status_code=500, json=SERVER_ERROR)
    with pytest.raises(ProviderError) as raised:
        client.daily_workings(date(2026, 11, 1), date(2026, 11, 30))
    assert "code 300" in str(raised.value) and not isinstance(raised.value, RateLimited)


def test_403_code_100_is_an_auth_error_naming_the_likely_causes(requests_mock, client):
    requests_mock.get(EMPLOYEES, status_code=403, json=AUTH_FAILED)
    with pytest.raises(ProviderAuthError) as raised:
        client.employees(date(2026, 11, 30))
    message = str(raised.value)
    assert "code 100" in message and "IP address" in message and "Read right" in message
    assert requests_mock.call_count == 1  # not retried


def test_403_code_104_is_restricted_hours_not_auth(requests_mock, client):
    requests_mock.get(EMPLOYEES, status_code=403, json=RESTRICTED)
    with pytest.raises(RestrictedHours) as raised:
        client.employees(date(2026, 11, 30))
    assert not isinstance(raised.value, ProviderAuthError)
    assert "08:30" in str(raised.value) and "17:30" in str(raised.value)


def test_a_400_quotes_the_answer_shortened(requests_mock, client):
    requests_mock.get(DAILY, status_code=400, json={"errors": [{"message": "x" * 500, "code": 200}]})
    with pytest.raises(ProviderError) as raised:
        client.daily_workings(date(2026, 11, 1), date(2026, 11, 30))
    assert "400" in str(raised.value) and len(str(raised.value)) <= 200


def test_redirects_are_not_followed(requests_mock, client):
    requests_mock.get(EMPLOYEES, status_code=302, headers={"Location": "https://elsewhere.test/"})
    with pytest.raises(ProviderError, match="302"):
        client.employees(date(2026, 11, 30))
    assert requests_mock.call_count == 1


def test_an_answer_that_is_not_a_list_is_an_error(requests_mock, client):
    requests_mock.get(EMPLOYEES, json={"employees": []})
    with pytest.raises(ProviderError, match="not a list"):
        client.employees(date(2026, 11, 30))


def test_connection_errors_are_retried_then_named(requests_mock, clock):
    client = KingOfTimeClient(ClientOptions(API, TOKEN), pace=fast_pace(clock, stall_seconds=10), sleep=clock.sleep)
    requests_mock.get(EMPLOYEES, exc=requests.ConnectionError(f"{AVAILABLE} refused"))
    with pytest.raises(ProviderNetworkError) as raised:
        client.employees(date(2026, 11, 30))
    assert "could not be reached" in str(raised.value) and TOKEN not in str(raised.value)


# --- the secret stays out ---


def test_the_secret_stays_out_of_errors_and_reprs(requests_mock, client, clock):
    requests_mock.get(AVAILABLE, exc=requests.ConnectionError(f"{AVAILABLE} refused"))
    shown = [repr(client), repr(client.options), repr(settings(clock))]
    for status, body in ((403, AUTH_FAILED), (404, {"errors": [{"message": AVAILABLE, "code": 1}]})):
        requests_mock.get(EMPLOYEES, status_code=status, json=body)
        with pytest.raises(ProviderError) as raised:
            client.employees(date(2026, 11, 30))
        shown.append(str(raised.value))
    result = provider(clock).check(settings(clock, Deadline(10, clock=clock)))
    shown.append(result.message)
    assert result.status is CheckStatus.NETWORK
    assert all(TOKEN not in text for text in shown), shown


# --- check() ---


def test_check_is_the_token_and_one_read(requests_mock, clock):
    requests_mock.get(AVAILABLE, json={"available": True})
    requests_mock.get(EMPLOYEES, json=[])
    result = provider(clock).check(settings(clock))
    assert result.ok and requests_mock.call_count == 2


def test_check_with_a_wrong_token(requests_mock, clock):
    requests_mock.get(AVAILABLE, status_code=403, json=AUTH_FAILED)
    result = provider(clock).check(settings(clock))
    assert result.status is CheckStatus.BAD_CREDENTIALS and "wrong token" in result.message
    assert "/tokens/{token}/available" in result.message and TOKEN not in result.message


def test_check_without_a_token_sends_nothing(requests_mock, clock):
    result = provider(clock).check(settings(clock, access_token=""))
    assert result.status is CheckStatus.BAD_CREDENTIALS and requests_mock.call_count == 0


def test_check_with_a_token_that_is_not_available(requests_mock, clock):
    requests_mock.get(AVAILABLE, json={"available": False})
    result = provider(clock).check(settings(clock))
    assert result.status is CheckStatus.BAD_CREDENTIALS and "Issue a new one" in result.message


def test_check_names_the_address_or_the_right_when_the_read_is_refused(requests_mock, clock):
    requests_mock.get(AVAILABLE, json={"available": True})
    requests_mock.get(EMPLOYEES, status_code=403, json=AUTH_FAILED)
    result = provider(clock).check(settings(clock))
    assert result.status is CheckStatus.MISSING_SCOPE and result.missing_scopes == ("employees",)
    assert "IP address" in result.message and "allowed addresses" in result.message and "Read" in result.message


def test_check_inside_the_restricted_hours_verifies_only_the_token(requests_mock, clock):
    requests_mock.get(AVAILABLE, json={"available": True})
    employees = requests_mock.get(EMPLOYEES, status_code=403, json=RESTRICTED)
    result = provider(clock, now=NINE_JST).check(settings(clock))
    assert result.ok and "10:00" in result.message and "after" in result.message
    assert employees.call_count == 0


def test_check_that_meets_the_restricted_hours_on_the_read_verifies_only_the_token(requests_mock, clock):
    requests_mock.get(AVAILABLE, json={"available": True})
    requests_mock.get(EMPLOYEES, status_code=403, json=RESTRICTED)
    result = provider(clock).check(settings(clock))
    assert result.ok and "token is valid" in result.message


def test_check_throttled_past_its_deadline_is_rate_limited(requests_mock, clock):
    requests_mock.get(AVAILABLE, status_code=429, json=THROTTLED, headers={"Retry-After": "60"})
    result = provider(clock).check(settings(clock, Deadline(10, clock=clock)))
    assert result.status is CheckStatus.RATE_LIMITED


# --- the sync's requests ---


def employee(n: int, **extra) -> dict:
    return {"key": f"k{n:04d}", "code": str(1001 + n), "lastName": "社員", "firstName": str(n), **extra}


def serve_period(requests_mock, employees: int, start: date, end: date):
    """Every employee works every day of the period; each answer covers what it was asked for."""

    def dates(request):
        query = parse_qs(urlsplit(request.url).query)
        first, last = date.fromisoformat(query["start"][0]), date.fromisoformat(query["end"][0])
        assert (last - first).days + 1 <= 62
        return [first + timedelta(days=n) for n in range((last - first).days + 1)], query

    def daily(request, context):
        days, _ = dates(request)
        return [
            {
                "date": day.isoformat(),
                "dailyWorkings": [
                    {"date": day.isoformat(), "employeeKey": f"k{n:04d}", "totalWork": 480, "breakTime": 60}
                    for n in range(employees)
                ],
            }
            for day in days
        ]

    def punches(request, context):
        days, query = dates(request)
        keys = query.get("employeeKeys", [",".join(f"k{n:04d}" for n in range(employees))])[0].split(",")
        return [
            {
                "date": day.isoformat(),
                "dailyWorkings": [
                    {
                        "date": day.isoformat(),
                        "employeeKey": key,
                        "timeRecord": [
                            {"time": f"{day}T18:00:00+09:00", "code": "2"},
                            {"time": f"{day}T09:00+09:00", "code": "1"},
                        ],
                    }
                    for key in keys
                ],
            }
            for day in days
        ]

    requests_mock.get(EMPLOYEES, json=[employee(n) for n in range(employees)])
    requests_mock.get(DAILY, json=daily)
    requests_mock.get(TIMERECORD, json=punches)


@pytest.mark.parametrize("employees", [3, 400])
def test_a_40_day_sync_is_three_requests_whatever_the_head_count(requests_mock, clock, employees):
    start, end = date(2026, 10, 22), date(2026, 11, 30)  # 40 days
    serve_period(requests_mock, employees, start, end)
    kot, call = provider(clock), settings(clock)
    members = kot.fetch_members(call)
    progress = []
    asked = [member.remote_id for member in members][::2]
    records = kot.fetch_attendance(call, asked, start, end, lambda **kw: progress.append(kw))
    assert requests_mock.call_count == 3 and call.pace.requests == 3
    assert len(records) == len(asked) * 40 and all(isinstance(r, DayRecord) for r in records)
    assert {r.remote_id for r in records} == set(asked)
    assert (records[0].clock_in, records[0].clock_out, records[0].work_minutes) == (540, 1080, 480)
    assert progress[-1] == {"stage": "attendance", "done": 2, "total": 2, "requests": 3}


def test_a_period_longer_than_62_days_is_read_in_ranges(requests_mock, clock):
    start, end = date(2026, 8, 1), date(2026, 10, 31)  # 92 days
    serve_period(requests_mock, 2, start, end)
    records = provider(clock).fetch_attendance(settings(clock), ["k0000"], start, end, lambda **kw: None)
    assert requests_mock.call_count == 4 and len(records) == 92
    assert [r.work_date for r in records] == [start + timedelta(days=n) for n in range(92)]


def test_no_matched_employee_asks_for_nothing(requests_mock, clock):
    assert provider(clock).fetch_attendance(settings(clock), [], date(2026, 11, 1), date(2026, 11, 30), print) == []
    assert requests_mock.call_count == 0


def test_members_retired_beyond_the_apis_three_years_are_left_out(requests_mock, clock):
    requests_mock.get(
        EMPLOYEES,
        json=[employee(0), employee(1, resignationDate="2020-03-31"), employee(2, resignationDate="2026-11-15")],
    )
    members = provider(clock).fetch_members(settings(clock))
    assert [(m.code, m.retired_on) for m in members] == [("1001", None), ("1003", date(2026, 11, 15))]
    assert parse_qs(urlsplit(requests_mock.last_request.url).query)["date"] == ["2026-12-01"]  # today in Tokyo


def test_the_admins_ceiling_reaches_the_pace(requests_mock, clock):
    call = settings(clock, requests_per_second=2)
    provider(clock).client(call)
    assert call.pace.ceiling == 2
