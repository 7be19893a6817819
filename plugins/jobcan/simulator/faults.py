"""How the simulator misbehaves on purpose: a rate limit, queued and random faults, slow and dropped answers.

:meth:`Faults.judge` decides each request's fate in this order: the token bucket (a real API's limiter comes
before everything else and sees every endpoint), faults queued by ``fail_next``, a 429 burst, a random
429/5xx, a dropped connection, a slow answer. Bursts and random faults hit API calls only, and the token
endpoint too with ``faults_on_token``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hub.simulation import TokenBucket
from hub_plugins.jobcan.simulator.data import SimulatorConfig


@dataclass(frozen=True)
class Verdict:
    """What to do with one request: answer ``status`` (an error), drop the connection, or answer after ``delay``."""

    status: int | None = None
    retry_after: int | None = None
    drop: bool = False
    delay: float = 0.0  # seconds, on top of the configured latency
    limited: bool = False  # the 429 comes from the token bucket


@dataclass
class _Queued:
    remaining: int
    status: int
    retry_after: int | None
    endpoint: str | None  # None: any API call (not the token endpoint)


PASS = Verdict()


class Faults:
    """The fault state of one simulator: its token bucket, queued faults, burst counter and random draws."""

    def __init__(self, config: SimulatorConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        seed = config.seed if config.fault_seed is None else config.fault_seed
        self._rng = random.Random(f"jobcan-simulator/faults/{seed}")
        self._bucket = TokenBucket(config.rate_limit_rps, clock=clock) if config.rate_limit_rps else None
        self._queued: list[_Queued] = []
        self._counted = 0  # requests that reached the burst check, to place the bursts
        self._lock = threading.Lock()

    def queue(self, count: int, status: int, retry_after: int | None, endpoint: str | None) -> None:
        """The next ``count`` matching requests answer ``status``; earlier queued faults are used first."""
        if count > 0:
            with self._lock:
                self._queued.append(_Queued(count, status, retry_after, endpoint))

    def clear(self) -> None:
        """Forget the queued faults that have not been used yet."""
        with self._lock:
            self._queued.clear()

    def judge(self, endpoint: str) -> Verdict:
        """This request's fate; ``endpoint`` is an ENDPOINTS name ("token" for the token endpoint)."""
        config = self.config
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait > 0:
                return Verdict(429, retry_after=max(1, math.ceil(wait)), limited=True)
        with self._lock:
            queued = next((q for q in self._queued if _applies(q, endpoint)), None)
            if queued is not None:
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._queued.remove(queued)
                return Verdict(queued.status, retry_after=queued.retry_after)
            if endpoint == "token" and not config.faults_on_token:
                return PASS
            self._counted += 1
            every, length = config.burst_429_every, config.burst_429_length
            # The last `length` of every `every` requests: "every 7th request answers 429" is every=7, length=1.
            if every and (self._counted - 1) % every >= every - length:
                return Verdict(429, retry_after=config.retry_after)
            draw = self._rng.random()
            if draw < config.rate_429:
                return Verdict(429, retry_after=config.retry_after)
            if draw < config.rate_429 + config.rate_5xx:
                return Verdict(self._rng.choice((500, 502, 503)))
            if self._rng.random() < config.drop_rate:
                return Verdict(drop=True)
            if self._rng.random() < config.slow_rate:
                return Verdict(delay=config.slow_ms / 1000)
        return PASS


def _applies(queued: _Queued, endpoint: str) -> bool:
    return queued.endpoint == endpoint if queued.endpoint else endpoint != "token"
