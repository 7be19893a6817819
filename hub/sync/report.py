"""A sync run as the CLI prints it and scripts read it (keys are part of the CLI's contract)."""

from __future__ import annotations

from typing import Any

from hub.models import IssueKind, SyncRun

COUNT_KEYS = (
    "fetched",
    "created",
    "updated",
    "unchanged",
    "removed",
    "rejected",
    "skipped_locked",
    "skipped_other_source",
    "unmatched_remote",
    "unmatched_local",
    "warnings",
)
ISSUE_ORDER = (
    IssueKind.REJECTED,
    IssueKind.MISSING_CLOCK_OUT,
    IssueKind.CONFLICT,
    IssueKind.UNMATCHED_REMOTE,
    IssueKind.UNMATCHED_LOCAL,
)


def duration_seconds(run: SyncRun) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return round((run.finished_at - run.started_at).total_seconds(), 3)


def run_as_dict(run: SyncRun) -> dict[str, Any]:
    """The object `hub sync --json` and `hub runs show --json` print."""
    return {
        "run_id": run.id,
        "integration": run.integration_name,
        "status": str(run.status),
        "trigger": str(run.trigger),
        "period": {"from": run.period_start.isoformat(), "to": run.period_end.isoformat()},
        "counts": {key: getattr(run, key) for key in COUNT_KEYS},
        "requests": run.requests,
        "throttled": run.throttled,
        "achieved_rate": run.achieved_rate,
        "duration_s": duration_seconds(run),
        "error": run.error,
        "issues": [
            {
                "kind": str(issue.kind),
                "employee_code": issue.employee_code,
                "date": issue.work_date.isoformat() if issue.work_date else None,
                "message": issue.message,
                "suggestion": issue.suggestion,
            }
            for issue in sorted(run.issues, key=lambda issue: (ISSUE_ORDER.index(issue.kind), issue.id))
        ],
    }
