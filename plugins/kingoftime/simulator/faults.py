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

from hub.simulation import TokenBucket
from hub_plugins.kingoftime.simulator.data import SimulatorConfig

TOKEN_ENDPOINTS = ("token_available", "token_reissue", "token_delete")


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
