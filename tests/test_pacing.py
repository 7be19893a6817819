"""hub.pacing: the AIMD rate, the shared pause, rate-limit headers and the run's retry budget, on a fake clock;
and the Jobcan client through a schedule of faults that used to fail runs (issue 11)."""

from __future__ import annotations

import random
import threading

import pytest

from hub.pacing import MAX_RATE, MIN_RATE, START_RATE, Pace
from hub.providers import RateLimited
from hub_plugins.jobcan.client import TOKENS, ClientOptions, JobcanClient


class Clock:
    """Moves only when someone sleeps on it; thread-safe enough for sleeps that only add."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def paced(clock: Clock, **options) -> Pace:
    return Pace(clock=clock, wall=clock, **options)


def run_requests(pace: Pace, clock: Clock, count: int, status: int = 200, headers=None) -> None:
    for _ in range(count):
        pace.wait(clock.sleep)
        pace.answered(status, headers or {})


def test_a_first_run_starts_at_a_moderate_rate_and_spaces_requests():
    clock = Clock()
    pace = paced(clock)
    assert pace.rate == START_RATE
    pace.wait(clock.sleep)
    pace.wait(clock.sleep)
    assert clock.slept == [pytest.approx(1 / START_RATE)]


def test_the_rate_rises_while_answers_succeed():
    clock = Clock()
    pace = paced(clock)
    run_requests(pace, clock, 100)
    # +1 request a second per second of successes: 100 requests from 5/s take about 10 s and end near 14/s
    assert 12 < pace.rate < 16
    assert pace.achieved_rate() > START_RATE


def test_the_rate_halves_on_429_once_per_burst():
    clock = Clock()
    pace = paced(clock, start=16)
    pace.wait(clock.sleep)
    for _ in range(4):  # four threads told "too many requests" at once: one congestion event
        pace.answered(429, {})
    assert pace.rate == 8 and pace.throttled == 4
    clock.now += 1
    pace.answered(503, {})
    assert pace.rate == 4 and pace.throttled == 4  # a 503 slows down too, but is no 429


def test_the_rate_never_passes_the_ceiling():
    clock = Clock()
    pace = paced(clock, start=50)
    pace.set_ceiling(7)
    assert pace.rate == 7
    run_requests(pace, clock, 200)
    assert pace.rate == 7
    assert paced(clock, start=10_000).rate == MAX_RATE  # without a ceiling, still bounded


def test_cuts_stop_at_the_floor_but_an_admins_lower_ceiling_wins():
    clock = Clock()
    pace = paced(clock)
    for _ in range(10):
        clock.sleep(1.5)
        pace.answered(429, {})
    assert pace.rate == MIN_RATE
    pace.set_ceiling(0.2)  # a contract of one request every five seconds
    assert pace.rate == 0.2
    run_requests(pace, clock, 3)
    assert clock.slept[-2:] == [pytest.approx(5), pytest.approx(5)]


def test_the_rate_rises_only_while_it_holds_requests_back():
    """A client slowed by its answers, not by the pace, must not learn a rate it never tried."""
    clock = Clock()
    pace = paced(clock)
    for _ in range(50):
        pace.wait(clock.sleep)
        clock.now += 1.0  # each answer takes a second: the pace of 5/s never waits
        pace.answered(200, {})
    assert pace.rate == START_RATE


def test_a_retry_after_pauses_every_thread():
    clock = Clock()
    pace = paced(clock, start=MAX_RATE)
    pace.wait(clock.sleep)
    pace.answered(429, {"Retry-After": "7"})
    assert pace.paused_for() == 7
    started: list[float] = []

    def another_thread():
        pace.wait(clock.sleep)
        started.append(clock.now)

    threads = [threading.Thread(target=another_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(start >= 1007 for start in started)  # none of them started before the pause ended


def test_rate_limit_headers_spread_the_remaining_budget():
    clock = Clock()
    pace = paced(clock, start=MAX_RATE)
    pace.wait(clock.sleep)
    pace.answered(200, {"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "20"})  # 10 requests in 20 s
    pace.wait(clock.sleep)
    assert clock.slept == [pytest.approx(2.0)]


def test_an_exhausted_budget_waits_for_its_reset_as_an_iso_time():
    clock = Clock(now=1_764_633_600.0)  # 2025-12-02T00:00:00Z
    pace = paced(clock)
    pace.wait(clock.sleep)
    pace.answered(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2025-12-02T00:00:30Z"})  # freee
    assert pace.paused_for() == pytest.approx(30)


def test_the_budget_is_time_without_a_successful_answer():
    clock = Clock()
    pace = paced(clock, stall_seconds=180)
    pace.answered(500, {})
    clock.now += 170
    assert not pace.stalled() and pace.stalled(waiting=10)
    pace.answered(200, {})
    clock.now += 170
    assert not pace.stalled()


# --- the Jobcan client through fault schedules --------------------------------------------------

API, AUTH = "https://api.test", "https://auth.test"
EMPLOYEES = f"{API}/master/v1/employees"


@pytest.fixture
def client():
    TOKENS._tokens.clear()
    random.seed(7)
    clock = Clock()
    pace = Pace(clock=clock, wall=clock)
    options = ClientOptions(api_base=API, auth_base=AUTH, client_id="cid", client_secret="s")
    yield JobcanClient("1", options, pace=pace, sleep=clock.sleep, wall=clock), clock
    TOKENS._tokens.clear()


def test_every_7th_request_429_and_a_fifth_5xx_do_not_fail_a_run(requests_mock, client):
    """Each request had 5 attempts, so a schedule like this failed re-syncs (issue 11); now it only slows."""
    jobcan, _ = client
    count = {"n": 0}
    rng = random.Random(3)

    def answer(request, context):
        count["n"] += 1
        if count["n"] % 7 == 0:
            context.status_code = 429
            return {}
        if rng.random() < 0.2:
            context.status_code = rng.choice([500, 502, 503, 504])
            return {}
        return {"employees": []}

    requests_mock.post(f"{AUTH}/oauth/token", json={"access_token": "t", "expires_in": 3600})
    requests_mock.get(EMPLOYEES, json=answer)
    for _ in range(300):
        assert jobcan.employees() == []
    assert jobcan.pace.throttled >= 40


def test_a_burst_of_429s_longer_than_five_attempts_does_not_fail(requests_mock, client):
    jobcan, _ = client
    requests_mock.post(f"{AUTH}/oauth/token", json={"access_token": "t", "expires_in": 3600})
    requests_mock.get(EMPLOYEES, [{"status_code": 429, "headers": {"Retry-After": "2"}}] * 12 + [{"json": {}}])
    assert jobcan.employees() == []


def test_silence_past_the_budget_fails_saying_so(requests_mock, client):
    jobcan, _ = client
    requests_mock.post(f"{AUTH}/oauth/token", json={"access_token": "t", "expires_in": 3600})
    requests_mock.get(EMPLOYEES, status_code=503)
    with pytest.raises(Exception, match=r"answered no request successfully for 180 s; the last failure: .*503"):
        jobcan.employees()


def test_a_token_endpoint_that_keeps_refusing_fails_on_the_same_budget(requests_mock, client):
    jobcan, clock = client
    requests_mock.post(f"{AUTH}/oauth/token", status_code=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited, match="180 s"):
        jobcan.token()
    assert 150 <= clock.now - 1000 < 180


def test_before_retry_backs_off_serves_a_shared_pause_and_says_when_the_budget_is_spent():
    clock = Clock()
    pace = paced(clock, stall_seconds=60)
    random.seed(3)
    assert pace.before_retry(1, clock.sleep) is True
    assert len(clock.slept) == 1 and 0 <= clock.slept[0] <= 0.5  # full jitter of the first backoff
    pace.answered(429, {"Retry-After": "20"})
    slept = len(clock.slept)
    assert pace.before_retry(2, clock.sleep) is True
    assert len(clock.slept) == slept  # the shared pause is served by the next wait(), not slept twice
    clock.sleep(45)  # 45 s and more since the last success: a 20 s wait would pass the 60 s budget
    pace.answered(429, {"Retry-After": "20"})
    assert pace.before_retry(3, clock.sleep) is False
    assert pace.before_retry(3, clock.sleep, bounded=True) is True  # a check's deadline is its budget


def test_a_request_unlucky_among_successes_backs_off_as_the_providers_recent_answers_say():
    clock = Clock()
    pace = paced(clock)
    random.seed(5)
    for attempt in range(1, 13):  # one request refused 12 times, while every other request of the run succeeds
        assert pace.before_retry(attempt, clock.sleep)
        pace.answered(200, {})
    assert max(clock.slept) <= 0.5  # one failure since the last success each time: the first backoff's range
    slept = len(clock.slept)
    for attempt in range(1, 8):  # nothing succeeds: the backoff grows as before
        assert pace.before_retry(attempt, clock.sleep)
    assert max(clock.slept[slept:]) > 4


class _Asleep(Exception):
    """Stands for a thread that has reserved its start and is sleeping until then."""


def _reserve_and_sleep(pace: Pace) -> None:
    def asleep(seconds: float) -> None:
        raise _Asleep

    with pytest.raises(_Asleep):
        pace.wait(asleep)


def test_a_pause_that_begins_while_a_thread_waits_moves_its_start_past_the_pause_not_behind_the_queue():
    clock = Clock(now=0.0)
    pace = paced(clock, start=1)  # one request a second
    pace.wait(clock.sleep)  # t = 0
    refused = []

    def sleep_meanwhile_refused(seconds: float) -> None:
        if not refused:  # half a second in, two more threads queue (t = 2, 3), then one is told to retry after 2 s
            clock.sleep(0.5)
            _reserve_and_sleep(pace)
            _reserve_and_sleep(pace)
            pace.answered(429, {"Retry-After": "2"})
            refused.append(clock.now)
            seconds -= 0.5
        clock.sleep(seconds)

    pace.wait(sleep_meanwhile_refused)  # reserved for t = 1, inside the pause
    assert clock.now == pytest.approx(2.5)  # right after the pause, not behind the threads queued for 2 and 3
