"""A running sync's progress and heartbeat, written on connections of their own so pages can show them live.

The provider reports progress through a :class:`ProgressReporter` (it is the provider's ``progress`` callback);
a :class:`Heartbeat` keeps the run alive while the provider waits (a long Retry-After, a slow page). Both stop
the fetch with :class:`~hub.sync.lifecycle.SyncCancelled` once an admin cancelled the run or it was reaped, and
the reporter with :class:`~hub.sync.lifecycle.SyncBlackout` once the provider's blackout window has begun.
:func:`record_pace` keeps what the run's :class:`~hub.pacing.Pace` learned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from hub.extensions import db
from hub.models import Integration, RunStatus, SyncRun, utcnow
from hub.pacing import Pace
from hub.sync.blackout import Blackouts
from hub.sync.lifecycle import SyncBlackout, SyncCancelled

#: The share of the progress bar the fetch fills; the write phase takes the rest.
FETCH_SHARE = 90
#: At most this often (seconds) is progress written, unless a stage ends.
MIN_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """What a run reports as it goes: its stage, how far (percent, when the stage counts steps), requests so far."""

    stage: str
    percent: int | None
    requests: int


OnProgress = Callable[[ProgressUpdate], None]


class ProgressReporter:
    """Records a run's progress and heartbeat, at most twice a second; ``on_progress`` sees every written update.

    Each progress step of the provider is where the engine has control between its calls: the step first
    checks that the provider's ``blackouts`` have not begun.
    """

    def __init__(self, run_id: int, on_progress: OnProgress | None = None, blackouts: Blackouts | None = None):
        self.run_id = run_id
        self.on_progress = on_progress
        self.blackouts = blackouts or Blackouts()
        self.requests = 0
        self._last = 0.0

    def __call__(self, *, stage: str, done: int, total: int, requests: int) -> None:
        """The provider's ``progress`` callback (:class:`hub.providers.Progress`)."""
        self.requests = requests
        self.check_blackout()
        percent = int(FETCH_SHARE * done / total) if total else 0
        self._write(ProgressUpdate(stage, percent, requests), force=done == total)

    def stage(self, stage: str, requests: int) -> None:
        """A new stage begins (members, write …)."""
        self.requests = requests
        self._write(ProgressUpdate(stage, None, requests), force=True)

    def check_blackout(self) -> None:
        """Raise :class:`SyncBlackout` once the provider refuses calls: the run stops before its next one."""
        stop = self.blackouts.stop()
        if stop:
            raise SyncBlackout(stop)

    def _write(self, update: ProgressUpdate, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < MIN_INTERVAL:
            return
        self._last = now
        values = {"progress_stage": update.stage, "requests": update.requests, "heartbeat_at": utcnow()}
        if update.percent is not None:
            values["progress_percent"] = update.percent
        if not beat(self.run_id, values):
            raise SyncCancelled(_("Cancelled; nothing was written."))
        if self.on_progress:
            self.on_progress(update)


def beat(run_id: int, values: dict) -> bool:
    """Write ``values`` (SyncRun columns) on a connection of its own; False when the run was cancelled or
    marked interrupted."""
    with db.engine.begin() as connection:
        return bool(
            connection.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id, SyncRun.status == RunStatus.RUNNING, SyncRun.cancel_requested.is_(False))
                .values(**values)
            ).rowcount
        )


def record_pace(run_id: int, integration_id: int | None, pace: Pace) -> None:
    """Record how the fetch went (429s, the achieved rate) on the run, and the rate it learned on the
    integration as the next run's start, whatever the run's end: a failed run learned it too. Nothing is
    recorded for a provider that does not use the pace."""
    if not pace.requests:
        return
    with db.engine.begin() as connection:
        connection.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(throttled=pace.throttled, achieved_rate=pace.achieved_rate())
        )
        if integration_id is not None:
            connection.execute(
                update(Integration).where(Integration.id == integration_id).values(learned_rate=round(pace.rate, 2))
            )


class Heartbeat:
    """Beats every few seconds while the provider is busy, from a thread of its own."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.interval = max(1.0, min(30.0, current_app.config["HUB_HEARTBEAT_TIMEOUT"] / 5))
        self._stop = threading.Event()
        self._app = current_app._get_current_object()
        self._thread = threading.Thread(target=self._loop, name=f"sync-heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        with self._app.app_context():
            while not self._stop.wait(self.interval):
                beat(self.run_id, {"heartbeat_at": utcnow()})
