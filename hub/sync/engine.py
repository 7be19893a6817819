"""Running a sync: fetch from the provider, match, validate, then write everything in one transaction.

A failure before the write phase changes no attendance; the run itself is always recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.extensions import db
from hub.integrations.service import provider_for, provider_settings
from hub.models import (
    AttendanceBreak,
    AttendanceDay,
    DayState,
    Health,
    HourlyLeaveInterval,
    Integration,
    IssueKind,
    Member,
    RunStatus,
    SyncIssue,
    SyncRun,
    TimesheetDay,
    Trigger,
    utcnow,
)
from hub.providers import ProviderError
from hub.records import DayRecord
from hub.sync import validation
from hub.sync.matching import Matching, match_members
from hub.sync_events import announce_sync_finished

log = logging.getLogger(__name__)

MAX_PERIOD_DAYS = 40
_CHUNK = 500


class SyncError(Exception):
    """A sync cannot start; the message says why."""


class SyncPeriodError(SyncError):
    """The period is empty, reversed or longer than 40 days."""


class SyncAlreadyRunning(SyncError):
    """The integration already has a queued or running sync."""


def check_period(start: date, end: date) -> None:
    if end < start:
        raise SyncPeriodError(_("The end date is before the start date."))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise SyncPeriodError(_("A sync covers at most %(days)d days.", days=MAX_PERIOD_DAYS))


def start_run(
    integration: Integration, start: date, end: date, trigger: Trigger, user_id: int | None = None
) -> SyncRun:
    """Record a running SyncRun; the database refuses a second active run of one integration."""
    check_period(start, end)
    now = utcnow()
    run = SyncRun(
        integration_id=integration.id,
        integration_name=integration.name,
        trigger=trigger,
        period_start=start,
        period_end=end,
        status=RunStatus.RUNNING,
        started_by_id=user_id,
        queued_at=now,
        started_at=now,
        heartbeat_at=now,
        progress_stage="start",
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


def execute_run(run_id: int, on_progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Fetch, match, validate and write for an already started run."""
    run = db.session.get(SyncRun, run_id)
    integration = db.session.get(Integration, run.integration_id)
    reporter = _ProgressReporter(run_id, on_progress)
    began = time.monotonic()
    try:
        provider = provider_for(integration)
        settings = provider_settings(integration)
        remote = provider.fetch_members(settings)
        reporter.stage("members", requests=reporter.requests)
        members = list(db.session.scalars(select(Member)))
        matching = match_members(remote, members)
        records = list(
            provider.fetch_attendance(settings, list(matching.matched), run.period_start, run.period_end, reporter)
        )
        requests = reporter.requests
    except ProviderError as exc:
        return _fail(run_id, str(exc), reporter.requests, integration_error=True)
    except Exception as exc:  # a bug must not leave the run "running"
        log.exception("Sync run %s failed", run_id)
        return _fail(run_id, _("Unexpected error: %(error)s", error=type(exc).__name__), reporter.requests)
    reporter.stage("write", requests=requests)
    outcome = _write(run, integration, matching, records)
    run.requests = requests
    run.status = outcome.status
    run.error = outcome.error
    run.progress_stage, run.progress_percent = "done", 100
    run.finished_at = run.heartbeat_at = utcnow()
    integration.health, integration.health_message = Health.OK, None
    integration.last_success_at = run.finished_at
    db.session.commit()
    log.info("Sync run %s of %s: %s in %.1f s", run.id, run.integration_name, run.status, time.monotonic() - began)
    announce_sync_finished(run)
    return run


def _fail(run_id: int, message: str, requests: int, integration_error: bool = False) -> SyncRun:
    db.session.rollback()
    run = db.session.get(SyncRun, run_id)
    run.status, run.error, run.requests = RunStatus.FAILED, message, requests
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
        with db.engine.begin() as connection:
            connection.execute(update(SyncRun).where(SyncRun.id == self.run_id).values(**values))
        if self.on_progress:
            self.on_progress(values)


# --- write phase -------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: RunStatus = RunStatus.SUCCEEDED
    error: str | None = None
    issues: list[dict] = field(default_factory=list)


def content_hash(record: DayRecord) -> str:
    """A fingerprint of what is stored for a day, so an unchanged day is never rewritten."""
    payload = [
        record.remote_id,
        record.clock_in,
        record.clock_out,
        record.work_minutes,
        record.break_minutes,
        str(record.leave),
        record.leave_name,
        [[b.start, b.end] for b in record.breaks],
        [[h.start, h.end, h.name] for h in record.hourly_leaves],
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:32]


def _write(run: SyncRun, integration: Integration, matching: Matching, records: list[DayRecord]) -> _Outcome:
    """Upsert, skip locked days, remove vanished ones, record issues, all in the caller's transaction."""
    outcome = _Outcome()
    issues = outcome.issues
    start, end = run.period_start, run.period_end
    member_of = {remote_id: member for remote_id, member in matching.matched.items()}
    member_ids = sorted({member.id for member in member_of.values()})
    existing = _existing_days(member_ids, start, end)
    locked = _locked_days(member_ids, start, end)
    conflicts: dict[int, set[str]] = {}

    _record_unmatched(run, matching, issues)
    inserts, updates, present = [], [], set()
    for record in records:
        member = member_of.get(record.remote_id)
        if member is None:
            continue
        run.fetched += 1
        key = (member.id, record.work_date)
        present.add(key)
        reasons = validation.problems(record)
        if reasons:
            run.rejected += 1
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
            run.skipped_locked += 1
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
        row = _row(record, member.id, integration.id, digest)
        if previous is None:
            inserts.append((row, record))
        elif previous[1] == integration.id and previous[2] == digest:
            run.unchanged += 1
        else:
            if previous[1] not in (None, integration.id):
                conflicts.setdefault(member.id, set()).add(previous[3] or "?")
            row["id"] = previous[0]
            updates.append((row, record))

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
    if run.rejected and outcome.status is RunStatus.SUCCEEDED:
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


def _row(record: DayRecord, member_id: int, integration_id: int, digest: str) -> dict:
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
        "synced_at": utcnow(),
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


def _locked_days(member_ids: list[int], start: date, end: date) -> set[tuple[int, date]]:
    locked = set()
    for chunk in _chunks(member_ids):
        rows = db.session.execute(
            select(TimesheetDay.member_id, TimesheetDay.work_date).where(
                TimesheetDay.member_id.in_(chunk),
                TimesheetDay.work_date.between(start, end),
                or_(TimesheetDay.state == DayState.SUBMITTED, TimesheetDay.state == DayState.APPROVED),
            )
        )
        locked.update((member_id, work_date) for member_id, work_date in rows)
    return locked


def _insert_days(inserts: list[tuple[dict, DayRecord]]) -> None:
    if not inserts:
        return
    ids = db.session.scalars(
        insert(AttendanceDay).returning(AttendanceDay.id, sort_by_parameter_order=True), [row for row, _ in inserts]
    ).all()
    _insert_children(list(zip(ids, (record for _, record in inserts), strict=True)))


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
