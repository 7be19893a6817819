"""A sync's write phase: classify the fetched records, then store them in the caller's transaction.

Each record of a matched employee is rejected (the provider could not read it, or it fails the checks every
stored day passes), skipped (its day is submitted or approved, or another integration that wins for the
member stored it: :class:`Precedence`), or handed to :mod:`hub.store`, which writes what changed. A day this
integration stored that the provider no longer returns is removed, unless the whole answer was empty; a day
another integration stored is never removed. What could not be synced, or was synced with a warning, becomes
the run's issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from flask_babel import gettext as _
from sqlalchemy import insert, select

from hub import bulk, store
from hub.extensions import db
from hub.models import Integration, IssueKind, Member, RunStatus, SyncIssue, SyncRun, utcnow
from hub.providers import shorten
from hub.records import DayRecord, RejectedRecord
from hub.sync import validation
from hub.sync.matching import Matching

#: The issue kinds counted as the run's warnings.
WARNINGS = (IssueKind.MISSING_CLOCK_OUT, IssueKind.CONFLICT)
#: How much of a rejected value an issue quotes.
MAX_VALUE_TEXT = 100


@dataclass
class Outcome:
    """How the write phase ended: the run's status and the message that goes with it."""

    status: RunStatus = RunStatus.SUCCEEDED
    error: str | None = None


class Decision(Enum):
    """What a sync does with a day another integration stored for the member."""

    KEEP_OTHER = "keep_other"  # the other integration wins: the day is left as it is
    OVERWRITE = "overwrite"  # this integration wins (the member's preference, or a higher priority)
    OVERWRITE_TIED = "overwrite_tied"  # nothing decides: the later sync wins, as with no priorities at all


@dataclass(frozen=True)
class Precedence:
    """Which integration keeps a day two integrations serve for one member: the member's preferred integration
    (勤怠の優先連携) if it is one of the two, else the higher priority (優先度); equal priorities and no
    preference leave it to the later sync. Loaded once per run: no query per day."""

    integration_id: int
    priorities: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, integration: Integration) -> Precedence:
        priorities = dict(db.session.execute(select(Integration.id, Integration.priority)).all())
        priorities[integration.id] = integration.priority or 0
        return cls(integration.id, priorities)

    def decide(self, member: Member, other_id: int) -> Decision:
        """This sync's decision on ``member``'s day stored by integration ``other_id`` (not this one)."""
        preferred = member.preferred_integration_id
        if preferred == self.integration_id:
            return Decision.OVERWRITE
        if preferred == other_id:
            return Decision.KEEP_OTHER
        mine, theirs = self.priorities.get(self.integration_id, 0), self.priorities.get(other_id, 0)
        if mine == theirs:
            return Decision.OVERWRITE_TIED
        return Decision.OVERWRITE if mine > theirs else Decision.KEEP_OTHER


def write_records(
    run: SyncRun, integration: Integration, matching: Matching, records: list[DayRecord | RejectedRecord]
) -> Outcome:
    """Store ``records``, remove vanished days, set the run's counts and record its issues (no commit)."""
    with bulk.collector_paused():
        return _write_records(run, integration, matching, records)


def _write_records(
    run: SyncRun, integration: Integration, matching: Matching, records: list[DayRecord | RejectedRecord]
) -> Outcome:
    outcome = Outcome()
    issues: list[dict] = []
    start, end = run.period_start, run.period_end
    member_of = matching.matched
    member_ids = sorted({member.id for member in member_of.values()})
    stored = store.stored_days(member_ids, start, end)
    locked = store.locked_days(member_ids, start, end)
    changes = store.DayChanges(store.DaySource(integration_id=integration.id), synced_at=utcnow())
    returned: set[tuple[int, date]] = set()  # days the provider returned, readable or not: never removed
    unreadable_members: set[int] = set()  # members with an undated rejection: none of their days removed
    precedence = Precedence.load(integration)
    conflicts: dict[int, set[str]] = {}  # member id → the integrations whose days this sync overwrote
    tied: set[int] = set()  # members with a day overwritten only because this sync came later
    _record_unmatched(run, matching, issues)
    fetched = rejected = skipped_locked = skipped_other_source = 0
    no_clock_out = _("No clock-out recorded; stored with clock-in only.")  # translated once, not per day
    for record in records:
        member = member_of.get(record.remote_id)
        if member is None:
            continue
        fetched += 1
        if isinstance(record, RejectedRecord):
            rejected += 1
            if record.work_date is None:
                unreadable_members.add(member.id)
            else:
                returned.add((member.id, record.work_date))
            message = _(
                "Not stored: %(reason)s (%(field)s: %(value)s).",
                reason=record.reason,
                field=record.field,
                value=shorten(record.value, MAX_VALUE_TEXT),
            )
            issues.append(_issue(IssueKind.REJECTED, member, record.work_date, message))
            continue
        key = (member.id, record.work_date)
        returned.add(key)
        reasons = validation.problems(record)
        if reasons:
            rejected += 1
            message = _("Not stored: %(reasons)s.", reasons=", ".join(reasons))
            issues.append(_issue(IssueKind.REJECTED, member, record.work_date, message))
            continue
        if key in locked:
            skipped_locked += 1
            continue
        previous = stored.get(key)
        decision = None
        if previous is not None and previous.integration_id not in (None, integration.id):
            decision = precedence.decide(member, previous.integration_id)
            if decision is Decision.KEEP_OTHER:
                skipped_other_source += 1  # not this sync's day: no write, no warning
                continue
            conflicts.setdefault(member.id, set()).add(previous.integration_name or "?")
            if decision is Decision.OVERWRITE_TIED:
                tied.add(member.id)
        if record.missing_clock_out:
            issues.append(_issue(IssueKind.MISSING_CLOCK_OUT, member, record.work_date, no_clock_out))
        changes.put(member.id, record, previous)

    vanished = [
        day
        for key, day in stored.items()
        if day.integration_id == integration.id
        and key not in returned
        and key[0] not in unreadable_members
        and key not in locked
    ]
    if vanished and not any(isinstance(record, DayRecord) for record in records):
        # An answer with no readable day where data existed is more likely an outage (or a mapping gone wrong)
        # than a company without attendance.
        outcome.status = RunStatus.PARTIAL
        outcome.error = _("The provider returned no attendance for a period that has stored days; nothing was removed.")
        vanished = []
    for day in vanished:
        changes.remove(day)
    store.write(changes)

    for member_id, others in conflicts.items():
        if member_id in tied:
            message = _(
                "Also synced from %(others)s; this sync (%(name)s) overwrote those days. To keep one "
                "integration's days, give it a higher priority or set the member's preferred integration.",
                others=", ".join(sorted(others)),
                name=integration.name,
            )
        else:
            message = _(
                "Also synced from %(others)s; this sync (%(name)s) has precedence and overwrote those days. "
                "Their syncs now leave them as they are.",
                others=", ".join(sorted(others)),
                name=integration.name,
            )
        issues.append(_issue(IssueKind.CONFLICT, db.session.get(Member, member_id), None, message))
    if issues:
        db.session.execute(insert(SyncIssue), [dict(issue, run_id=run.id) for issue in issues])
    run.fetched, run.rejected, run.skipped_locked = fetched, rejected, skipped_locked
    run.skipped_other_source = skipped_other_source
    run.created, run.updated, run.unchanged = len(changes.inserts), len(changes.updates), changes.unchanged
    run.removed = len(changes.deletes)
    run.warnings = sum(1 for issue in issues if issue["kind"] in WARNINGS)
    if rejected and outcome.status is RunStatus.SUCCEEDED:
        outcome.status = RunStatus.PARTIAL
    return outcome


def _record_unmatched(run: SyncRun, matching: Matching, issues: list[dict]) -> None:
    """Issues for employees without a member and active members the provider does not know."""
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
        if member.is_active_on(run.period_end) or member.is_active_on(run.period_start)
    ]
    for member, near in local:
        issue = _issue(
            IssueKind.UNMATCHED_LOCAL, member, None, _("The attendance system has no employee with this code.")
        )
        issue["suggestion"] = near.code if near else None
        issues.append(issue)
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
