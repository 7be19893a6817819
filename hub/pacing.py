"""How fast a provider's client calls its system, and how long it keeps retrying: the core's pacing policy.

The core gives each provider call a :class:`Pace` (``settings.pace``), one per integration and run, shared by
every thread of the call. It finds the system's rate by itself (additive increase, multiplicative decrease:
docs/providers.md says why), pauses every thread when one is told ``Retry-After``, spreads an
``X-RateLimit-Remaining`` budget over the time to ``X-RateLimit-Reset``, and keeps the run's retry budget: a
request is retried until the run has had no successful answer for ``stall_seconds``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

#: Requests a second a first run starts at; later runs start where the last one ended.
START_RATE = 5.0
#: The rate is never cut below this (unless the admin's ceiling is lower), nor raised above :data:`MAX_RATE`
#: without a ceiling. One a second: a provider's Retry-After pauses already hold requests back as long as it
#: asks, and a lower floor turned a schedule of 4 refusals in 5 into a sync of a quarter of an hour.
MIN_RATE = 1.0
MAX_RATE = 200.0
#: Requests a second gained per second of successful answers (additive increase).
INCREASE = 1.0
#: The share of the rate kept on a 429 or 503 (multiplicative decrease), at most once a :data:`CUT_GUARD`.
DECREASE = 0.5
CUT_GUARD = 1.0
#: Seconds without one successful answer after which a run stops retrying (``HUB_SYNC_STALL_SECONDS``).
STALL_SECONDS = 180.0
#: The longest ``Retry-After`` honoured as given, and the exponential backoff's base and cap, in seconds.
RETRY_AFTER_CAP = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
THROTTLE_STATUSES = frozenset({429, 503})


class Pace:
    """One integration's request rate and retry budget, shared by the threads of one run (thread-safe).

    Call :meth:`wait` before each request and :meth:`answered` with each answer's status and headers; ask
    :meth:`stalled` before a retry. ``clock`` (monotonic) and ``wall`` (epoch seconds) are injectable.
    """

    def __init__(
        self,
        start: float | None = None,
        *,
        ceiling: float | None = None,
        stall_seconds: float = STALL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.ceiling = ceiling if ceiling and ceiling > 0 else None
        self.stall_seconds = stall_seconds
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._rate = self._bounded(start or START_RATE)
        now = clock()
        self._last = -math.inf  # when the last request started, as scheduled: the rate spaces the next from it
        self._not_before = now  # the earliest start by a Retry-After or an exhausted header budget
        self._resumed = -math.inf  # the last start moved past the current pause
        self._header_rate, self._header_until = math.inf, now
        self._held_at = -math.inf  # when the rate last held a request back: only then is it raised
        self._cut_at = -math.inf
        self._last_success = now
        self._failures = 0  # failed attempts, any thread, since the last successful answer
        self._began, self._last_start = now, now
        self.requests = 0
        self.answers = 0  # requests answered at all (any status)
        self.throttled = 0

    # --- the rate -------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """The learned rate (requests a second), within the ceiling: the next run's start."""
        return self._rate

    def set_ceiling(self, ceiling: float | None) -> None:
        """At most ``ceiling`` requests a second (None or 0: none), as the admin set it."""
        with self._lock:
            self.ceiling = ceiling if ceiling and ceiling > 0 else None
            self._rate = self._bounded(self._rate)

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait with ``sleep`` until this thread may send a request, and count it.

        The start is reserved before sleeping, so threads queue in order. A pause that began meanwhile (another
        thread's ``Retry-After``) and covers the reserved start moves it to after the pause, spaced from the
        other threads that resume, without losing its place to threads queued behind it.
        """
        with self._lock:
            now = self._clock()
            by_rate = self._last + self._interval(now)
            start = max(by_rate, self._not_before, now)
            if by_rate > now:
                self._held_at = now
            self._last = start  # reserved: the next thread is spaced from it
            self.requests += 1
        while start > now:
            sleep(start - now)
            with self._lock:
                now = self._clock()
                if self._not_before <= start or self._not_before <= now:
                    # No pause covers the start. (With a real sleep the start has come and these are no-ops; with
                    # a test's instant one it is taken as come: the pause it waited for is served, and a start
                    # nobody queued behind is not kept in the future.)
                    self._not_before = min(self._not_before, now)
                    if self._last == start:
                        self._last = min(start, now)
                    break
                start = max(self._not_before, self._resumed + self._interval(now))
                self._resumed = start
                self._last = max(self._last, start)
        with self._lock:
            self._last_start = max(self._last_start, min(start, self._clock()))

    def _interval(self, now: float) -> float:
        return 1.0 / min(self._rate, self._header_rate if now < self._header_until else math.inf)

    def answered(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: raise the rate on success, cut it on 429/503, honour the rate-limit headers."""
        with self._lock:
            now = self._clock()
            self.answers += 1
            self._read_budget(headers, now)
            if status in THROTTLE_STATUSES:
                self.throttled += status == 429
                pause = retry_after(headers)
                if pause is not None:
                    self._pause_until(now + min(pause, RETRY_AFTER_CAP))
                if now - self._cut_at >= CUT_GUARD:  # one cut per burst of refusals, as TCP cuts once per window
                    self._cut_at = now
                    self._rate = self._bounded(self._rate * DECREASE)
            elif status < 500:
                self._last_success = now
                self._failures = 0
                if now - self._held_at <= 1.0:  # raised only while it is what holds requests back
                    self._rate = self._bounded(self._rate + INCREASE / self._rate)

    def paused_for(self) -> float:
        """Seconds until the shared pause (a ``Retry-After``, an exhausted budget) ends; 0 when none."""
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    # --- the retry budget -----------------------------------------------------------------------

    def stalled(self, waiting: float = 0.0) -> bool:
        """True when a retry after ``waiting`` seconds would start past the run's budget: no successful
        answer for ``stall_seconds``."""
        with self._lock:
            return self._clock() + waiting - self._last_success >= self.stall_seconds

    def before_retry(self, attempt: int, sleep: Callable[[float], None], *, bounded: bool = False) -> bool:
        """Wait before retry number ``attempt`` (1, 2 …) of a failed request; False, without waiting, when the
        run's retry budget is spent and the caller should raise its typed error instead.

        The wait is the shared pause when one is on (the next :meth:`wait` serves it, for every thread), else
        :meth:`backoff`, whose exponent is the smaller of ``attempt`` and the failures since the provider last
        answered successfully: a request unlucky enough to meet ten refusals while other requests get through
        waits as long as the provider's recent answers say, not 30 s. ``bounded``: the call has a deadline of
        its own (a connection check), which is then the budget, kept by ``sleep``.
        """
        with self._lock:
            self._failures += 1
            failures = self._failures
        paused = self.paused_for()
        waiting = paused or self.backoff(min(attempt, failures))
        if not bounded and self.stalled(waiting):
            return False
        if not paused:
            sleep(waiting)
        return True

    @staticmethod
    def backoff(attempt: int) -> float:
        """Exponential backoff with full jitter before retry number ``attempt`` (1, 2 …)."""
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))

    # --- what a run records ---------------------------------------------------------------------

    def achieved_rate(self) -> float | None:
        """Requests a second from the first to the last request started; None before two requests."""
        with self._lock:
            spell = self._last_start - self._began
            return round(self.requests / spell, 2) if self.requests > 1 and spell > 0 else None

    def _pause_until(self, until: float) -> None:
        """Hold every thread's next start until ``until`` (lock held); those that resume are spaced again."""
        if until > self._not_before:
            self._not_before = until
            self._resumed = -math.inf

    def _bounded(self, rate: float) -> float:
        return min(max(MIN_RATE, rate), self.ceiling or MAX_RATE)  # the admin's ceiling wins, even below the floor

    def _read_budget(self, headers: Mapping[str, str], now: float) -> None:
        """``X-RateLimit-Remaining`` requests left until ``X-RateLimit-Reset``: spread them over that time."""
        remaining = headers.get("X-RateLimit-Remaining")
        reset = _reset_in(headers.get("X-RateLimit-Reset"), self._wall())
        if remaining is None or reset is None or not remaining.strip().isdigit():
            return
        left = int(remaining)
        if left == 0:
            self._pause_until(now + min(reset, RETRY_AFTER_CAP))
        elif reset > 0:
            self._header_rate, self._header_until = left / reset, now + reset


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds of a ``Retry-After: <seconds>`` header; None when there is none."""
    value = (headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else None


def _reset_in(value: str | None, wall_now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` of seconds, epoch seconds or an ISO date-time (freee)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        number = float(value)
        return max(0.0, number - wall_now) if number > 1e9 else number
    try:
        return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - wall_now)
    except ValueError:
        return None
