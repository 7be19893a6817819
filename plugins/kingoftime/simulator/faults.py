"""How the simulator misbehaves on purpose: a rate limit, queued faults and random 500s.

:meth:`Faults.judge` decides each request's fate in this order: the token bucket (it sees every endpoint, as
a real limiter would), faults queued by ``fail_next``, a random 500. Queued and random faults spare the token
endpoints unless a queued fault names one.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hub_plugins.kingoftime.simulator.data import SimulatorConfig

TOKEN_ENDPOINTS = ("token_available", "token_reissue", "token_delete")


class TokenBucket:
    """``rate`` requests a second with bursts of ``burst`` (default ``rate``, at least 1); thread-safe."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0.0 when a token was taken, else the seconds until one is available (and nothing is taken)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


@dataclass(frozen=True)
class Verdict:
    """A request's fate: ``fault`` is None (serve it), "throttled", "server_error" or "refused"."""

    fault: str | None = None
    retry_after: int | None = None
    limited: bool = False  # the throttling comes from the token bucket


PASS = Verdict()
FAULTS = ("throttled", "server_error", "refused")


@dataclass
class _Queued:
    remaining: int
    fault: str
    endpoint: str | None  # None: any call but the token endpoints


class Faults:
    """The fault state of one simulator: its token bucket, queued faults and random draws."""

    def __init__(self, config: SimulatorConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        seed = config.seed if config.fault_seed is None else config.fault_seed
        self._rng = random.Random(f"kingoftime-simulator/faults/{seed}")
        self._bucket = TokenBucket(config.rate_limit_rps, clock=clock) if config.rate_limit_rps else None
        self._queued: list[_Queued] = []
        self._lock = threading.Lock()

    def queue(self, count: int, fault: str, endpoint: str | None) -> None:
        """The next ``count`` matching requests get ``fault``; earlier queued faults are used first."""
        if fault not in FAULTS:
            raise ValueError(f"fault is one of {', '.join(FAULTS)}")
        if count > 0:
            with self._lock:
                self._queued.append(_Queued(count, fault, endpoint))

    def clear(self) -> None:
        """Forget the queued faults that have not been used yet."""
        with self._lock:
            self._queued.clear()

    def judge(self, endpoint: str) -> Verdict:
        """This request's fate; ``endpoint`` is an ENDPOINTS name."""
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait > 0:
                return Verdict("throttled", retry_after=max(1, math.ceil(wait)), limited=True)
        with self._lock:
            queued = next((q for q in self._queued if _applies(q, endpoint)), None)
            if queued is not None:
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._queued.remove(queued)
                return Verdict(queued.fault, retry_after=1 if queued.fault == "throttled" else None)
            if endpoint in TOKEN_ENDPOINTS:
                return PASS
            if self.config.rate_500 and self._rng.random() < self.config.rate_500:
                return Verdict("server_error")
        return PASS


def _applies(queued: _Queued, endpoint: str) -> bool:
    return queued.endpoint == endpoint if queued.endpoint else endpoint not in TOKEN_ENDPOINTS
