"""The Jobcan HTTP client against requests-mock: tokens, retries, rate limiting, paging, scope errors."""

from __future__ import annotations

import base64
import random
import threading
from datetime import date
from urllib.parse import parse_qs

import pytest
import requests

from hub.pacing import Pace
from hub.providers import (
    Deadline,
    DeadlineExceeded,
    MissingScopeError,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    RateLimited,
)
from hub_plugins.jobcan.client import IN_FLIGHT_EXPIRIES, TOKENS, ClientOptions, JobcanClient

API, AUTH = "https://api.test", "https://auth.test"
TOKEN_URL = f"{AUTH}/oauth/token"
EMPLOYEES = f"{API}/master/v1/employees"
ALL_SCOPES = "employees.read summaries.create summaries.read adits.read"


@pytest.fixture(autouse=True)
def _fresh_tokens():
    TOKENS._tokens.clear()
    random.seed(11)  # backoff jitter, reproducible
    yield
    TOKENS._tokens.clear()


class Clock:
    """Monotonic and wall clock in one, moving only when the client sleeps; ``slept`` leaves out the
    nanosecond spacing of a pace too fast to matter."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 1e-6:
            self.slept.append(seconds)
        self.now += seconds


def fast_pace(clock: Clock, **options) -> Pace:
    """A pace that never holds a request back noticeably, on ``clock``."""
    return Pace(1e9, ceiling=1e9, clock=clock, wall=clock, **options)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sleeps(clock):
    return clock.slept


OPTIONS = ClientOptions(api_base=API, auth_base=AUTH, client_id="cid", client_secret="s3cret")


@pytest.fixture
def client(clock):
    return JobcanClient("1", OPTIONS, pace=fast_pace(clock), sleep=clock.sleep, wall=clock)


def token_response(requests_mock, *tokens, expires_in=3600, scope=ALL_SCOPES):
    return requests_mock.post(
        TOKEN_URL,
        [
            {"json": {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope}}
            for token in tokens
        ],
    )


def test_token_uses_basic_auth_and_space_separated_scopes(requests_mock, client):
    token = token_response(requests_mock, "t1")
    requests_mock.get(EMPLOYEES, json={"employees": []})
    client.employees()
    sent = token.last_request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:s3cret").decode()
    form = parse_qs(sent.text)
    assert form["grant_type"] == ["client_credentials"] and form["scope"] == [ALL_SCOPES]
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer t1"
    assert client.granted_scopes == tuple(ALL_SCOPES.split())


def test_token_is_cached_per_integration(requests_mock, client, clock):
    token = token_response(requests_mock, "t1", "t2")
    requests_mock.get(EMPLOYEES, json={"employees": []})
    client.employees()
    JobcanClient("1", OPTIONS, pace=fast_pace(clock), sleep=clock.sleep, wall=clock).employees()
    assert token.call_count == 1
    JobcanClient("2", OPTIONS, pace=fast_pace(clock), sleep=clock.sleep, wall=clock).employees()
    assert token.call_count == 2


def test_an_expired_token_is_fetched_again(requests_mock, client, clock):
    token = token_response(requests_mock, "t1", "t2", expires_in=3600)
    requests_mock.get(EMPLOYEES, json={"employees": []})
    client.employees()
    clock.now += 3600 - 61
    client.employees()
    assert token.call_count == 1  # an hour's token is used until a minute before it expires
    clock.now += 2
    client.employees()
    assert token.call_count == 2
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer t2"


def test_a_short_lived_token_is_used_for_half_its_life(requests_mock, client, clock):
    """A 2-second token with a fixed 30 s margin was fetched again before every call (issue 11)."""
    token = token_response(requests_mock, "t1", "t2", "t3", expires_in=2)
    requests_mock.get(EMPLOYEES, json={"employees": []})
    for _ in range(5):
        client.employees()
        clock.now += 0.2
    assert token.call_count == 1
    clock.now = 1.01  # past half its life
    client.employees()
    assert token.call_count == 2


def test_threads_share_one_token_fetch(requests_mock, clock):
    """Eight threads that need a token at once wait for one token request, not eight."""
    arrived = threading.Barrier(8)

    def slow_token(request, context):
        threading.Event().wait(0.05)  # the fetch takes a while, so every thread finds the token missing
        return {"access_token": "t", "expires_in": 3600}

    token = requests_mock.post(TOKEN_URL, json=slow_token)
    requests_mock.get(EMPLOYEES, json={"employees": []})
    pace = Pace(1e9, ceiling=1e9)  # a real clock: the threads run for real
    clients = [JobcanClient("1", OPTIONS, pace=pace) for _ in range(8)]

    def call(client):
        arrived.wait()
        client.employees()

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert token.call_count == 1 and pace.requests == 9


def test_401_fetches_a_new_token_and_retries_once(requests_mock, client):
    token_response(requests_mock, "old", "new")
    api = requests_mock.get(
        EMPLOYEES, [{"status_code": 401, "json": {"errors": []}}, {"json": {"employees": [{"id": 1}]}}]
    )
    assert client.employees() == [{"id": 1}]
    assert [call.headers["Authorization"] for call in api.request_history] == ["Bearer old", "Bearer new"]


def test_401_twice_is_an_auth_error(requests_mock, client):
    token_response(requests_mock, "old", "new", "newer")
    requests_mock.get(EMPLOYEES, status_code=401, json={"errors": []})
    with pytest.raises(ProviderAuthError):
        client.employees()


def test_a_token_that_expires_while_the_request_is_on_its_way_is_not_a_refusal(requests_mock, client, clock):
    # A 1-second token and answers that take 2 s: each 401 comes after the token's life, so it is renewed
    # and retried (a few times), not reported as a wrong ID or secret.
    token_response(requests_mock, "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", expires_in=1)
    answers = iter([401, 401, 401, 200])

    def slow(request, context):
        clock.now += 2
        context.status_code = next(answers)
        return {"employees": [{"id": 1}]} if context.status_code == 200 else {"errors": []}

    requests_mock.get(EMPLOYEES, json=slow)
    assert client.employees() == [{"id": 1}]

    def slow_refusal(request, context):
        clock.now += 2
        return {"errors": []}

    always = requests_mock.get(EMPLOYEES, status_code=401, json=slow_refusal)
    token_response(requests_mock, *[f"u{n}" for n in range(10)], expires_in=1)
    with pytest.raises(ProviderAuthError):
        client.employees()
    assert always.call_count == 1 + IN_FLIGHT_EXPIRIES + 1  # the first, the uncounted renewals, the refusal


def test_wrong_credentials(requests_mock, client):
    requests_mock.post(TOKEN_URL, status_code=401, json={"error": "invalid_client"})
    with pytest.raises(ProviderAuthError, match="ID or secret access key"):
        client.token()


def test_429_honours_retry_after_capped(requests_mock, client, sleeps):
    token_response(requests_mock, "t1")
    requests_mock.get(
        EMPLOYEES,
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"status_code": 429, "headers": {"Retry-After": "120"}},
            {"json": {"employees": []}},
        ],
    )
    client.employees()
    assert sleeps == [3.0, 60.0]  # a Retry-After of more than a minute is capped


def test_429_without_retry_after_backs_off_with_jitter(requests_mock, client, sleeps):
    token_response(requests_mock, "t1")
    requests_mock.get(
        EMPLOYEES, [{"status_code": 429}, {"status_code": 429}, {"status_code": 429}, {"json": {"employees": []}}]
    )
    client.employees()
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= 0.5 * 2 ** (attempt - 1)


def test_429_every_time_gives_up_when_the_run_budget_is_spent(requests_mock, client, clock):
    token_response(requests_mock, "t1")
    requests_mock.get(EMPLOYEES, status_code=429)
    with pytest.raises(RateLimited, match=r"no request successfully for 180 s; the last failure: .*429"):
        client.employees()
    assert 150 <= clock.now < 180  # retried for the budget, and not a retry that would start past it


def test_5xx_is_retried_then_given_up(requests_mock, client, clock):
    token_response(requests_mock, "t1")
    api = requests_mock.get(EMPLOYEES, [{"status_code": 503}, {"status_code": 500}, {"json": {"employees": []}}])
    assert client.employees() == []
    assert api.call_count == 3
    api = requests_mock.get(EMPLOYEES, status_code=502, json={"errors": [{"code": "x", "message": "maintenance"}]})
    with pytest.raises(ProviderError, match=r"502.*maintenance"):
        client.employees()
    assert api.call_count > 5 and clock.now >= 150


def test_connection_errors_are_retried_then_named(requests_mock, client):
    token_response(requests_mock, "t1")
    requests_mock.get(EMPLOYEES, [{"exc": requests.ConnectionError}, {"json": {"employees": []}}])
    assert client.employees() == []
    requests_mock.get(EMPLOYEES, exc=requests.ConnectTimeout)
    with pytest.raises(ProviderNetworkError, match="timed out"):
        client.employees()


def test_403_names_the_missing_scope(requests_mock, client):
    token_response(requests_mock, "t1")
    requests_mock.get(f"{API}/attendance/v1/adits", status_code=403, json={"errors": [{"code": "forbidden"}]})
    with pytest.raises(MissingScopeError) as raised:
        client.adits(date(2026, 11, 2))
    assert raised.value.scopes == ("adits.read",) and "adits.read" in str(raised.value)


def _employees(first, count):
    return [{"id": first + index * 2, "employee_code": f"P{first + index}"} for index in range(count)]


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (99, 1), (100, 2), (101, 2), (200, 3), (250, 3)])
def test_paging_by_last_id_at_page_boundaries(requests_mock, client, total, pages):
    token_response(requests_mock, "t1")
    everyone = _employees(1, total)

    def page(request, context):
        last_id, count = int(request.qs["last_id"][0]), int(request.qs["count"][0])
        assert count == 100
        return {"employees": [e for e in everyone if e["id"] > last_id][:count]}

    api = requests_mock.get(EMPLOYEES, json=page)
    assert client.employees() == everyone
    assert api.call_count == pages
    assert [int(call.qs["last_id"][0]) for call in api.request_history][1:] == [
        everyone[100 * n - 1]["id"] for n in range(1, pages)
    ]


def test_adit_pages_count_employees_not_punches(requests_mock, client):
    token_response(requests_mock, "t1")
    punches = [
        {"employee_id": employee, "recorded_at": f"2026-11-02T0{hour}:00:00+09:00"}
        for employee in range(1, 151)
        for hour in (8, 9)
    ]

    def page(request, context):
        last_id = int(request.qs["last_id"][0])
        employees = sorted({p["employee_id"] for p in punches if p["employee_id"] > last_id})[:100]
        return {"adits": [p for p in punches if p["employee_id"] in employees]}

    api = requests_mock.get(f"{API}/attendance/v1/adits", json=page)
    assert len(client.adits(date(2026, 11, 2))) == 300
    assert api.call_count == 2  # 200 punches of 100 employees, then 100 punches of 50


def test_refresh_posts_json_with_a_half_open_range(requests_mock, client):
    token_response(requests_mock, "t1")
    api = requests_mock.post(
        f"{API}/attendance/v1/summaries/daily/16/refresh", json={"refresh": {"status": "processing"}}
    )
    assert client.refresh("16", date(2026, 11, 1), date(2026, 11, 8)) is True  # still recalculating
    assert api.last_request.json() == {"conditions": {"range": {"from": "2026-11-01", "to": "2026-11-08"}}}
    assert api.last_request.headers["Content-Type"] == "application/json"


def test_the_secret_stays_out_of_errors_and_reprs(requests_mock, client):
    requests_mock.post(TOKEN_URL, exc=requests.ConnectionError("connection refused"))
    with pytest.raises(ProviderNetworkError) as raised:
        client.token()
    assert "s3cret" not in str(raised.value) and "s3cret" not in repr(client.options)


def test_an_empty_granted_scope_means_none(requests_mock, client):
    token_response(requests_mock, "t1", scope="")
    client.token()
    assert client.granted_scopes == ()


def test_a_429_from_the_token_endpoint_is_retried_after_retry_after(requests_mock, client, sleeps):
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "1"}, "json": {"error": "temporarily_unavailable"}},
            {"json": {"access_token": "t1", "token_type": "Bearer", "expires_in": 3600, "scope": ALL_SCOPES}},
        ],
    )
    requests_mock.get(EMPLOYEES, json={"employees": []})
    assert client.employees() == []
    assert token.call_count == 2 and sleeps == [1.0]
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer t1"


def test_a_token_endpoint_that_keeps_answering_429_is_rate_limited(requests_mock, client, clock):
    requests_mock.post(TOKEN_URL, status_code=429, json={"error": "temporarily_unavailable"})
    with pytest.raises(RateLimited, match="no request successfully for 180 s"):
        client.token()
    assert client.requests > 5 and 150 <= clock.now < 180


def bounded_client(clock: Clock, seconds: float) -> JobcanClient:
    return JobcanClient(
        "1", OPTIONS, pace=fast_pace(clock), sleep=clock.sleep, deadline=Deadline(seconds, clock=clock), wall=clock
    )


def test_a_deadline_bounds_every_timeout_and_wait(requests_mock, clock):
    bounded = bounded_client(clock, 4)
    bounded.pace.backoff = lambda attempt: 1.0
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "1"}},
            {"json": {"access_token": "t1", "token_type": "Bearer", "expires_in": 3600}},
        ],
    )

    def slow_503(request, context):
        clock.now += 2.5  # answered with 0.5 s left: the backoff of 1 s would pass the deadline
        context.status_code = 503
        return {}

    api = requests_mock.get(EMPLOYEES, json=slow_503)
    with pytest.raises(DeadlineExceeded, match="did not answer within 4 seconds"):
        bounded.employees()
    assert clock.slept == [1.0]  # the backoff was given up, not slept
    assert [call.timeout for call in token.request_history] == [pytest.approx((4, 4)), pytest.approx((3, 3))]
    assert [call.timeout for call in api.request_history] == [pytest.approx((3, 3))]


def test_a_retry_after_past_the_deadline_is_a_rate_limit(requests_mock, clock):
    """Jobcan answered: the caller hears that it limits requests and for how long, not that it did not answer."""
    bounded = bounded_client(clock, 4)
    token_response(requests_mock, "t1")
    api = requests_mock.get(EMPLOYEES, status_code=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited, match=r"^Jobcan is limiting requests \(try again in 600 s\)\.$"):
        bounded.employees()
    assert clock.slept == [] and api.call_count == 1  # Retry-After: 600 (capped at 60) is not waited

    bounded = bounded_client(clock, 4)  # a new check: the last one's pause is not this one's
    bounded.pace.backoff = lambda attempt: 5.0
    requests_mock.get(EMPLOYEES, status_code=429)  # no Retry-After: the backoff would pass the deadline
    with pytest.raises(RateLimited, match=r"^Jobcan is limiting requests \(try again in a few minutes\)\.$"):
        bounded.employees()
    assert clock.slept == []


def test_redirects_are_not_followed(requests_mock, client):
    token_response(requests_mock, "t1")
    requests_mock.get(EMPLOYEES, status_code=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    metadata = requests_mock.get("http://169.254.169.254/latest/meta-data/", text="secret")
    with pytest.raises(ProviderError, match="302"):
        client.employees()
    assert metadata.call_count == 0


def test_a_long_remote_error_is_cut_to_200_characters(requests_mock, client):
    token_response(requests_mock, "t1")
    requests_mock.get(EMPLOYEES, status_code=400, json={"errors": [{"code": "bad", "message": "y" * 5000}]})
    with pytest.raises(ProviderError) as raised:
        client.employees()
    assert str(raised.value).startswith("Jobcan answered 400 for /master/v1/employees")
    assert len(str(raised.value)) == 200 and str(raised.value).endswith("…")


# --- the summary refresh's wait (provider) ---------------------------------------------------------------

REFRESH_16 = f"{API}/attendance/v1/summaries/daily/16/refresh"


def refreshing_provider(requests_mock, clock: Clock, answers: list[dict]):
    """A Jobcan provider on ``clock`` whose employee 16 refresh gives ``answers``; no day has data."""
    from hub.providers import ProviderSettings
    from hub_plugins.jobcan.provider import JobcanProvider

    token_response(requests_mock, "t1")
    requests_mock.post(REFRESH_16, answers)
    for path in ("summaries/daily", "adits"):
        requests_mock.get(f"{API}/attendance/v1/{path}", json={})
    values = {
        "environment": "custom",
        "api_base_url": API,
        "auth_base_url": AUTH,
        "client_id": "c",
        "client_secret": "s",
    }
    settings = ProviderSettings(key="9", values=values, pace=Pace(1e9, ceiling=1e9, clock=clock, wall=clock))
    return JobcanProvider(sleep=clock.sleep), settings


PROCESSING = {"json": {"refresh": {"status": "processing"}}}
FINISHED = {"json": {"refresh": {"status": "finished"}}}


def test_a_refresh_still_processing_after_the_runs_budget_fails_saying_how_long(requests_mock, clock):
    provider, settings = refreshing_provider(requests_mock, clock, [PROCESSING])
    with pytest.raises(ProviderError, match=r"still recalculating summaries after 1\d\d s"):
        provider.fetch_attendance(settings, ["16"], date(2026, 11, 2), date(2026, 11, 2), lambda **_: None)
    assert settings.pace.stall_seconds <= clock.now < settings.pace.stall_seconds + 10


def test_time_spent_retrying_429s_does_not_count_against_the_refresh_wait(requests_mock, clock):
    # 12 polls, each after a 429 asking for 25 s: 300 s and more in all, but only ~70 s of it polling
    throttled = {"status_code": 429, "headers": {"Retry-After": "25"}, "json": {}}
    provider, settings = refreshing_provider(requests_mock, clock, [throttled, PROCESSING] * 12 + [FINISHED])
    provider.fetch_attendance(settings, ["16"], date(2026, 11, 2), date(2026, 11, 2), lambda **_: None)
    assert clock.now > settings.pace.stall_seconds + 100
    assert sum(call.url == REFRESH_16 for call in requests_mock.request_history) == 25
