"""Running a sync: fetch from the provider, match, validate, then write everything in one transaction.

A failure before the write phase changes no attendance; the run itself is always recorded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.extensions import db
from hub.integrations.service import provider_for, provider_settings
from hub.models import (
    ACTIVE_STATUSES,
    AttendanceBreak,
    AttendanceDay,
    Health,
    HourlyLeaveInterval,
    Integration,
    IssueKind,
    Member,
    RunStatus,
    SyncIssue,
    SyncRun,
    Trigger,
    utcnow,
)
from hub.providers import ProviderError
from hub.records import DayRecord
from hub.sync import validation
from hub.sync.matching import Matching, match_members
from hub.sync_events import announce_sync_finished
from hub.timesheets.locks import locked_days

log = logging.getLogger(__name__)

MAX_PERIOD_DAYS = 40
_CHUNK = 500


class SyncError(Exception):
    """A sync cannot start; the message says why."""


class SyncPeriodError(SyncError):
    """The period is empty, reversed or longer than 40 days."""


class SyncAlreadyRunning(SyncError):
    """The integration already has a queued or running sync."""


class SyncCancelled(SyncError):
    """An admin cancelled the run, or it was marked interrupted; nothing is written."""


def check_period(start: date, end: date) -> None:
    if end < start:
        raise SyncPeriodError(_("The end date is before the start date."))
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
    """Record a running (or ``queued``) SyncRun; the database refuses a second active run of one integration.

    A run left "running" by a worker that died is marked interrupted first, so it cannot block the integration.
    """
    check_period(start, end)
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
        raise SyncAlreadyRunning(
            _("%(name)s is already being synced; wait for that run to finish.", name=integration.name)
        ) from None
    return run


def run_sync(
    integration: Integration,
    start: date,
    end: date,
    trigger: Trigger = Trigger.CLI,
    user_id: int | None = None,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Start and execute a sync of ``integration`` for ``start``..``end``; returns the finished run."""
    run = start_run(integration, start, end, trigger, user_id)
    return execute_run(run.id, on_progress=on_progress)


def execute_run_in_locale(run_id: int, locale: str) -> SyncRun | None:
    """Execute a run outside a request, with issue messages in ``locale`` (the language of who started it)."""
    g.hub_sync_run_id = run_id  # Flask-Babel ignores force_locale while g is empty
    with force_locale(locale):
        return execute_run(run_id)


def execute_run(run_id: int, on_progress: Callable[[SyncRun], None] | None = None) -> SyncRun | None:
    """Fetch, match, validate and write for a started run; a cancelled or finished run is left alone."""
    run = db.session.get(SyncRun, run_id)
    if run is None or run.status not in ACTIVE_STATUSES:
        return run
    if run.status is RunStatus.QUEUED:
        claimed = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), progress_stage="start")
        ).rowcount
        db.session.commit()
        if not claimed:  # cancelled between the two statements
            return db.session.get(SyncRun, run_id)
        db.session.refresh(run)
    integration = db.session.get(Integration, run.integration_id)
    reporter = _ProgressReporter(run_id, on_progress)
    began = time.monotonic()
    try:
        with _Heartbeat(run_id):
            matching, records = _fetch(run, integration, reporter)
        requests = reporter.requests
    except SyncCancelled as exc:
        return _fail(run_id, str(exc), reporter.requests, status=RunStatus.INTERRUPTED)
    except ProviderError as exc:
        return _fail(run_id, str(exc), reporter.requests, integration_error=True)
    except Exception as exc:  # a bug must not leave the run "running"
        log.exception("Sync run %s failed", run_id)
        return _fail(run_id, _("Unexpected error: %(error)s", error=type(exc).__name__), reporter.requests)
    try:
        reporter.stage("write", requests=requests)
    except SyncCancelled as exc:
        return _fail(run_id, str(exc), reporter.requests, status=RunStatus.INTERRUPTED)
    for attempt in (1, 2):
        try:
            finished = _write_and_finish(run_id, matching, records, requests)
            break
        except IntegrityError:
            # Another integration's sync inserted some of the same member days a moment ago: read the days
            # again and write once more, now as updates (with the conflict reported).
            db.session.rollback()
            if attempt == 2:
                return _fail(run_id, _("Another sync kept writing the same days; run this sync again."), requests)
        except Exception as exc:  # a bug must not leave the run "running"
            db.session.rollback()
            log.exception("Sync run %s failed while writing", run_id)
            return _fail(run_id, _("Unexpected error: %(error)s", error=type(exc).__name__), requests)
    if not finished:
        log.warning("Sync run %s was interrupted or cancelled before it could commit; nothing written", run_id)
        return db.session.get(SyncRun, run_id)
    run = db.session.get(SyncRun, run_id)
    log.info("Sync run %s of %s: %s in %.1f s", run.id, run.integration_name, run.status, time.monotonic() - began)
    announce_sync_finished(run)
    return run


def _write_and_finish(run_id: int, matching: Matching, records: list[DayRecord], requests: int) -> bool:
    """The write phase and the run's final status in one transaction; False when the run may no longer finish."""
    run = db.session.get(SyncRun, run_id)
    integration = db.session.get(Integration, run.integration_id)
    outcome = _write(run, integration, matching, records)
    run.requests = requests
    run.error = outcome.error
    run.progress_stage, run.progress_percent = "done", 100
    run.finished_at = run.heartbeat_at = utcnow()
    integration.health, integration.health_message = Health.OK, None
    integration.last_success_at = run.finished_at
    db.session.flush()
    # Only a run still "running" may finish: one marked interrupted meanwhile must not write anything.
    finished = db.session.execute(
        update(SyncRun).where(SyncRun.id == run_id, SyncRun.status == RunStatus.RUNNING).values(status=outcome.status)
    ).rowcount
    if not finished:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _fetch(run: SyncRun, integration: Integration, reporter: _ProgressReporter):
    """Members, matching and day records from the provider; raises before anything is written."""
    provider = provider_for(integration)
    settings = provider_settings(integration)
    remote = provider.fetch_members(settings)
    reporter.stage("members", requests=reporter.requests)
    matching = match_members(remote, db.session.scalars(select(Member)))
    records = list(
        provider.fetch_attendance(settings, list(matching.matched), run.period_start, run.period_end, reporter)
    )
    return matching, records


def _fail(
    run_id: int, message: str, requests: int, integration_error: bool = False, status: RunStatus = RunStatus.FAILED
) -> SyncRun:
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


class _ProgressReporter:
    """Writes progress and a heartbeat on its own connection, at most twice a second."""

    def __init__(self, run_id: int, on_progress):
        self.run_id = run_id
        self.on_progress = on_progress
        self.requests = 0
        self._last = 0.0

    def __call__(self, *, stage: str, done: int, total: int, requests: int) -> None:
        self.requests = requests
        percent = int(90 * done / total) if total else 0
        self._write(stage, percent, requests, force=done == total)

    def stage(self, stage: str, requests: int) -> None:
        self.requests = requests
        self._write(stage, None, requests, force=True)

    def _write(self, stage: str, percent: int | None, requests: int, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        values = {"progress_stage": stage, "requests": requests, "heartbeat_at": utcnow()}
        if percent is not None:
            values["progress_percent"] = percent
        if not _beat(self.run_id, values):
            raise SyncCancelled(_("Cancelled; nothing was written."))
        if self.on_progress:
            self.on_progress(values)


def _beat(run_id: int, values: dict) -> bool:
    """Record progress on a connection of its own; False when the run was cancelled or marked interrupted."""
    with db.engine.begin() as connection:
        return bool(
            connection.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id, SyncRun.status == RunStatus.RUNNING, SyncRun.cancel_requested.is_(False))
                .values(**values)
            ).rowcount
        )


class _Heartbeat:
    """Beats every few seconds while the provider is busy (a long Retry-After, a slow page)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.interval = max(1.0, min(30.0, current_app.config["HUB_HEARTBEAT_TIMEOUT"] / 5))
        self._stop = threading.Event()
        self._app = current_app._get_current_object()
        self._thread = threading.Thread(target=self._loop, name=f"sync-heartbeat-{run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def _loop(self):
        with self._app.app_context():
            while not self._stop.wait(self.interval):
                _beat(self.run_id, {"heartbeat_at": utcnow()})


# --- run lifecycle: cancel and reap -------------------------------------------------------------------


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


# --- write phase -------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: RunStatus = RunStatus.SUCCEEDED
    error: str | None = None
    issues: list[dict] = field(default_factory=list)


def content_hash(record: DayRecord) -> str:
    """A fingerprint of what is stored for a day, so an unchanged day is never rewritten."""
    payload = (
        record.remote_id,
        record.clock_in,
        record.clock_out,
        record.work_minutes,
        record.break_minutes,
        str(record.leave),
        record.leave_name,
        tuple((b.start, b.end) for b in record.breaks),
        tuple((h.start, h.end, h.name) for h in record.hourly_leaves),
    )
    # repr of ints, strings and None is stable across runs and versions, and much cheaper than JSON.
    return hashlib.blake2b(repr(payload).encode(), digest_size=16).hexdigest()


def _write(run: SyncRun, integration: Integration, matching: Matching, records: list[DayRecord]) -> _Outcome:
    """Upsert, skip locked days, remove vanished ones, record issues, all in the caller's transaction."""
    outcome = _Outcome()
    issues = outcome.issues
    start, end = run.period_start, run.period_end
    member_of = {remote_id: member for remote_id, member in matching.matched.items()}
    member_ids = sorted({member.id for member in member_of.values()})
    existing = _existing_days(member_ids, start, end)
    locked = locked_days(member_ids, start, end)
    conflicts: dict[int, set[str]] = {}

    _record_unmatched(run, matching, issues)
    inserts, updates, present = [], [], set()
    fetched = rejected = skipped_locked = unchanged = 0
    synced_at = utcnow()
    for record in records:
        member = member_of.get(record.remote_id)
        if member is None:
            continue
        fetched += 1
        key = (member.id, record.work_date)
        present.add(key)
        reasons = validation.problems(record)
        if reasons:
            rejected += 1
            issues.append(
                _issue(
                    IssueKind.REJECTED,
                    member,
                    record.work_date,
                    _("Not stored: %(reasons)s.", reasons=", ".join(reasons)),
                )
            )
            continue
        if key in locked:
            skipped_locked += 1
            continue
        if record.missing_clock_out:
            issues.append(
                _issue(
                    IssueKind.MISSING_CLOCK_OUT,
                    member,
                    record.work_date,
                    _("No clock-out recorded; stored with clock-in only."),
                )
            )
        digest = content_hash(record)
        previous = existing.get(key)
        if previous is not None and previous[1] == integration.id and previous[2] == digest:
            unchanged += 1
            continue
        row = _row(record, member.id, integration.id, digest, synced_at)
        if previous is None:
            inserts.append((row, record))
        else:
            if previous[1] not in (None, integration.id):
                conflicts.setdefault(member.id, set()).add(previous[3] or "?")
            row["id"] = previous[0]
            updates.append((row, record))
    run.fetched, run.rejected, run.skipped_locked, run.unchanged = fetched, rejected, skipped_locked, unchanged

    vanished = [
        previous[0]
        for key, previous in existing.items()
        if previous[1] == integration.id and key not in present and key not in locked
    ]
    if vanished and not records:
        # An empty answer where data existed is more likely an outage than a company without attendance.
        outcome.status = RunStatus.PARTIAL
        outcome.error = _("The provider returned no attendance for a period that has stored days; nothing was removed.")
        vanished = []
    _insert_days(inserts)
    _update_days(updates)
    _delete_days(vanished)
    run.created, run.updated, run.removed = len(inserts), len(updates), len(vanished)
    for member_id, others in conflicts.items():
        member = db.session.get(Member, member_id)
        issues.append(
            _issue(
                IssueKind.CONFLICT,
                member,
                None,
                _(
                    "Also synced from %(others)s; this sync (%(name)s) overwrote those days.",
                    others=", ".join(sorted(others)),
                    name=integration.name,
                ),
            )
        )
    if issues:
        db.session.execute(insert(SyncIssue), [dict(issue, run_id=run.id) for issue in issues])
    run.warnings = sum(1 for issue in issues if issue["kind"] in (IssueKind.MISSING_CLOCK_OUT, IssueKind.CONFLICT))
    if rejected and outcome.status is RunStatus.SUCCEEDED:
        outcome.status = RunStatus.PARTIAL
    return outcome


def _record_unmatched(run: SyncRun, matching: Matching, issues: list[dict]) -> None:
    today = run.period_end
    for employee, suggestion in matching.unmatched_remote:
        if employee.code.strip():
            message = _("No hub member has this code.")
        else:
            message = _("No staff code is set in the attendance system.")
        issues.append(
            {
                "kind": IssueKind.UNMATCHED_REMOTE,
                "employee_code": employee.code or None,
                "employee_name": employee.name,
                "remote_id": employee.remote_id,
                "work_date": None,
                "member_id": None,
                "message": message,
                "suggestion": suggestion.code if suggestion else None,
            }
        )
    run.unmatched_remote = len(matching.unmatched_remote)
    local = [
        (member, near)
        for member, near in matching.unmatched_local
        if member.is_active_on(today) or member.is_active_on(run.period_start)
    ]
    for member, near in local:
        issues.append(
            {
                "kind": IssueKind.UNMATCHED_LOCAL,
                "employee_code": member.code,
                "work_date": None,
                "employee_name": member.name,
                "remote_id": None,
                "member_id": member.id,
                "message": _("The attendance system has no employee with this code."),
                "suggestion": near.code if near else None,
            }
        )
    run.unmatched_local = len(local)


def _issue(kind: IssueKind, member: Member, day: date | None, message: str) -> dict:
    return {
        "kind": kind,
        "employee_code": member.code,
        "employee_name": member.name,
        "remote_id": None,
        "work_date": day,
        "member_id": member.id,
        "message": message,
        "suggestion": None,
    }


def _row(record: DayRecord, member_id: int, integration_id: int, digest: str, synced_at) -> dict:
    return {
        "member_id": member_id,
        "work_date": record.work_date,
        "clock_in": record.clock_in,
        "clock_out": record.clock_out,
        "work_minutes": record.work_minutes,
        "break_minutes": record.break_minutes,
        "leave": record.leave,
        "leave_name": record.leave_name,
        "integration_id": integration_id,
        "source_file": None,
        "remote_id": record.remote_id,
        "content_hash": digest,
        "raw_payload": dict(record.raw) or None,
        "synced_at": synced_at,
    }


def _existing_days(member_ids: list[int], start: date, end: date) -> dict[tuple[int, date], tuple]:
    found = {}
    for chunk in _chunks(member_ids):
        rows = db.session.execute(
            select(
                AttendanceDay.member_id,
                AttendanceDay.work_date,
                AttendanceDay.id,
                AttendanceDay.integration_id,
                AttendanceDay.content_hash,
                Integration.name,
            )
            .outerjoin(Integration, Integration.id == AttendanceDay.integration_id)
            .where(AttendanceDay.member_id.in_(chunk), AttendanceDay.work_date.between(start, end))
        )
        for member_id, work_date, day_id, integration_id, digest, name in rows:
            found[(member_id, work_date)] = (day_id, integration_id, digest, name)
    return found


def _insert_days(inserts: list[tuple[dict, DayRecord]]) -> None:
    """One executemany for the days (every row has every key, so no batch splits), then their ids by key."""
    if not inserts:
        return
    db.session.execute(AttendanceDay.__table__.insert(), [row for row, _ in inserts])
    wanted = {(row["member_id"], row["work_date"]): record for row, record in inserts}
    first = min(day for _member, day in wanted)
    last = max(day for _member, day in wanted)
    ids = []
    for chunk in _chunks(sorted({member_id for member_id, _day in wanted})):
        rows = db.session.execute(
            select(AttendanceDay.id, AttendanceDay.member_id, AttendanceDay.work_date).where(
                AttendanceDay.member_id.in_(chunk), AttendanceDay.work_date.between(first, last)
            )
        )
        ids.extend((day_id, wanted[(member_id, day)]) for day_id, member_id, day in rows if (member_id, day) in wanted)
    _insert_children(ids)


def _update_days(updates: list[tuple[dict, DayRecord]]) -> None:
    if not updates:
        return
    ids = [row["id"] for row, _ in updates]
    _delete_children(ids)
    db.session.execute(update(AttendanceDay), [row for row, _ in updates])
    _insert_children([(row["id"], record) for row, record in updates])


def _delete_days(ids: list[int]) -> None:
    if not ids:
        return
    _delete_children(ids)
    for chunk in _chunks(ids):
        db.session.execute(delete(AttendanceDay).where(AttendanceDay.id.in_(chunk)))


def _insert_children(days: list[tuple[int, DayRecord]]) -> None:
    breaks = [{"day_id": day_id, "start": b.start, "end": b.end} for day_id, record in days for b in record.breaks]
    leaves = [
        {"day_id": day_id, "start": h.start, "end": h.end, "name": h.name}
        for day_id, record in days
        for h in record.hourly_leaves
    ]
    if breaks:
        db.session.execute(insert(AttendanceBreak), breaks)
    if leaves:
        db.session.execute(insert(HourlyLeaveInterval), leaves)


def _delete_children(ids: list[int]) -> None:
    for chunk in _chunks(ids):
        db.session.execute(delete(AttendanceBreak).where(AttendanceBreak.day_id.in_(chunk)))
        db.session.execute(delete(HourlyLeaveInterval).where(HourlyLeaveInterval.day_id.in_(chunk)))


def _chunks(values: list, size: int = _CHUNK):
    for index in range(0, len(values), size):
        yield values[index : index + size]
