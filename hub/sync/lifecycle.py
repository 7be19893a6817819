"""A sync run's life: started or queued, claimed by a worker, cancelled, reaped when its worker died, failed.

The database enforces one active (queued or running) run per integration; every change of status is a
conditional UPDATE, so two processes never both move one run.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.dates import DateOutOfRange, check_sync_date
from hub.extensions import db
from hub.models import ACTIVE_STATUSES, Health, Integration, RunStatus, SyncRun, Trigger, utcnow
from hub.settings.service import company_timezone
from hub.sync.blackout import Blackouts
from hub.sync_events import announce_sync_finished

log = logging.getLogger(__name__)

MAX_PERIOD_DAYS = 40


class SyncError(Exception):
    """A sync cannot start; the message says why."""


class SyncPeriodError(SyncError):
    """The period is empty, reversed or longer than 40 days."""


class SyncAlreadyRunning(SyncError):
    """The integration already has a queued or running sync."""


class SyncBlackout(SyncError):
    """The provider refuses API calls now (a blackout window): a run may not start, or it stops; the message
    says when to sync."""


class SyncCancelled(SyncError):
    """An admin cancelled the run, or it was marked interrupted; nothing is written."""


def check_period(start: date, end: date, today: date | None = None) -> None:
    """A sync's period: in order, inside the sync window, at most 40 days; else SyncPeriodError."""
    for day in (start, end):
        try:
            check_sync_date(day, today)
        except DateOutOfRange as exc:
            raise SyncPeriodError(str(exc)) from None
    if end < start:
        raise SyncPeriodError(_("The last day must not be before the first day."))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise SyncPeriodError(_("A sync covers at most %(days)d days.", days=MAX_PERIOD_DAYS))


def start_run(
    integration: Integration,
    start: date,
    end: date,
    trigger: Trigger,
    user_id: int | None = None,
    queued: bool = False,
    now: datetime | None = None,
) -> SyncRun:
    """Record a running (or ``queued``) SyncRun; the database refuses a second active run of one integration,
    and none starts inside a blackout window of the provider (:class:`SyncBlackout`).

    A run left "running" by a worker that died is marked interrupted first, so it cannot block the integration.
    """
    check_period(start, end)
    refusal = Blackouts.of(integration).refusal(now)
    if refusal:
        raise SyncBlackout(refusal)
    now = now or utcnow()
    reap_stale_runs(integration.id, now=now)
    run = SyncRun(
        integration_id=integration.id,
        integration_name=integration.name,
        trigger=trigger,
        period_start=start,
        period_end=end,
        status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
        started_by_id=user_id,
        queued_at=now,
        started_at=None if queued else now,
        heartbeat_at=now,
        progress_stage="queued" if queued else "start",
    )
    db.session.add(run)
    try:
        db.session.flush()
        audit.record(
            "sync.run",
            target=integration.name,
            details={"run_id": run.id, "trigger": str(trigger), "from": str(start), "to": str(end)},
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SyncAlreadyRunning(_busy_message(integration)) from None
    return run


def _busy_message(integration: Integration) -> str:
    """Why a second run is refused: which run holds the integration and, if its process died, until when."""
    active = db.session.scalar(
        select(SyncRun).where(SyncRun.integration_id == integration.id, SyncRun.status.in_(ACTIVE_STATUSES))
    )
    if active is None:  # it ended between the refused insert and this query
        return _("%(name)s is already being synced; wait for that run to finish.", name=integration.name)
    zone = ZoneInfo(company_timezone())

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    if active.status is RunStatus.QUEUED:
        return _(
            "%(name)s already has run %(run)d waiting for a worker since %(time)s; wait for it or cancel it.",
            name=integration.name,
            run=active.id,
            time=local(active.queued_at),
        )
    beat = active.heartbeat_at or active.started_at or active.queued_at
    release = beat + timedelta(seconds=current_app.config["HUB_HEARTBEAT_TIMEOUT"])
    return _(
        "%(name)s is already being synced by run %(run)d, last heard from at %(beat)s. If that run's process "
        "has stopped, the integration is released at %(release)s.",
        name=integration.name,
        run=active.id,
        beat=local(beat),
        release=local(release),
    )


def claim_run(run_id: int) -> SyncRun | None:
    """The run, moved from queued to running for this worker; None when it is no longer to be executed here
    (finished, cancelled, or claimed by another worker)."""
    run = db.session.get(SyncRun, run_id)
    if run is None or run.status not in ACTIVE_STATUSES:
        return None
    if run.status is RunStatus.QUEUED:
        claimed = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), progress_stage="start")
        ).rowcount
        db.session.commit()
        if not claimed:  # cancelled, or claimed elsewhere, between the two statements
            return None
        db.session.refresh(run)
    return run


def fail_run(
    run_id: int, message: str, requests: int, integration_error: bool = False, status: RunStatus = RunStatus.FAILED
) -> SyncRun:
    """End a run that could not finish with ``message``; nothing it had not committed is kept.

    ``integration_error`` also marks the integration with the error until its next successful sync.
    """
    db.session.rollback()
    run = db.session.get(SyncRun, run_id)
    if run.status not in ACTIVE_STATUSES:  # already interrupted or cancelled elsewhere
        return run
    run.status, run.error, run.requests = status, message, requests
    run.finished_at = run.heartbeat_at = utcnow()
    run.progress_stage = "failed"
    if integration_error and run.integration_id:
        integration = db.session.get(Integration, run.integration_id)
        integration.health, integration.health_message = Health.ERROR, message
    db.session.commit()
    announce_sync_finished(run)
    return run


def finish_run(run: SyncRun, integration: Integration, status: RunStatus) -> bool:
    """Mark a run that wrote its days as ended with ``status``, in the write's transaction, and commit.

    Only a run still "running" may finish: one marked interrupted meanwhile rolls back instead, writing
    nothing, and False is returned.
    """
    run.progress_stage, run.progress_percent = "done", 100
    run.finished_at = run.heartbeat_at = utcnow()
    integration.health, integration.health_message = Health.OK, None
    integration.last_success_at = run.finished_at
    db.session.flush()
    finished = db.session.execute(
        update(SyncRun).where(SyncRun.id == run.id, SyncRun.status == RunStatus.RUNNING).values(status=status)
    ).rowcount
    if not finished:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def request_cancel(run: SyncRun) -> bool:
    """Cancel a queued run at once, or ask a running one to stop at its next progress step."""
    if run.status is RunStatus.QUEUED:
        done = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run.id, SyncRun.status == RunStatus.QUEUED)
            .values(
                status=RunStatus.INTERRUPTED,
                error=_("Cancelled before it started."),
                finished_at=utcnow(),
                progress_stage="cancelled",
                cancel_requested=True,
            )
        ).rowcount
    elif run.status is RunStatus.RUNNING:
        done = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run.id, SyncRun.status == RunStatus.RUNNING)
            .values(cancel_requested=True)
        ).rowcount
    else:
        done = 0
    if done:
        audit.record("sync.cancel", target=run.integration_name, details={"run_id": run.id})
    db.session.commit()
    db.session.refresh(run)
    if done and run.status is RunStatus.INTERRUPTED:
        announce_sync_finished(run)
    return bool(done)


def reap_stale_runs(integration_id: int | None = None, now=None) -> list[int]:
    """Mark running runs without a heartbeat for HUB_HEARTBEAT_TIMEOUT seconds as interrupted."""
    now = now or utcnow()
    limit = now - timedelta(seconds=current_app.config["HUB_HEARTBEAT_TIMEOUT"])
    query = select(SyncRun).where(SyncRun.status == RunStatus.RUNNING, SyncRun.heartbeat_at < limit)
    if integration_id is not None:
        query = query.where(SyncRun.integration_id == integration_id)
    reaped = []
    for run in db.session.scalars(query).all():
        changed = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run.id, SyncRun.status == RunStatus.RUNNING, SyncRun.heartbeat_at < limit)
            .values(
                status=RunStatus.INTERRUPTED,
                finished_at=now,
                progress_stage="interrupted",
                error=_("The worker stopped answering; nothing this run had not committed was kept."),
            )
        ).rowcount
        if changed:
            reaped.append(run.id)
    db.session.commit()
    for run_id in reaped:
        log.warning("Sync run %s had no heartbeat since %s: marked interrupted", run_id, limit)
        announce_sync_finished(db.session.get(SyncRun, run_id))
    return reaped
