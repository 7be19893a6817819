"""Submitting, approving and reopening timesheet days. Every change of state is audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from flask_login import current_user
from sqlalchemy import select

from hub import audit
from hub.extensions import db
from hub.models import DayState, Member, TimesheetDay


class Action(StrEnum):
    SUBMIT = "submit"  # 提出: draft → submitted
    APPROVE = "approve"  # 承認: submitted → approved
    REOPEN = "reopen"  # 差し戻し: submitted or approved → draft


_FROM = {
    Action.SUBMIT: {DayState.DRAFT},
    Action.APPROVE: {DayState.SUBMITTED},
    Action.REOPEN: {DayState.SUBMITTED, DayState.APPROVED},
}
_TO = {Action.SUBMIT: DayState.SUBMITTED, Action.APPROVE: DayState.APPROVED, Action.REOPEN: DayState.DRAFT}


def apply(action: Action, member: Member, dates: Iterable[date]) -> list[date]:
    """Move the given days of ``member`` to the action's state where allowed; the dates that changed."""
    wanted = sorted(set(dates))
    if not wanted:
        return []
    rows = {
        row.work_date: row
        for row in db.session.scalars(
            select(TimesheetDay).where(TimesheetDay.member_id == member.id, TimesheetDay.work_date.in_(wanted))
        )
    }
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    changed = []
    for work_date in wanted:
        row = rows.get(work_date)
        if (row.state if row else DayState.DRAFT) not in _FROM[action]:
            continue
        if row is None:
            row = TimesheetDay(member_id=member.id, work_date=work_date)
            db.session.add(row)
        row.state, row.changed_by_id = _TO[action], user_id
        changed.append(work_date)
    if changed:
        audit.record(
            f"timesheet.{action}",
            target=member.code,
            details={"dates": [day.isoformat() for day in changed], "state": str(_TO[action])},
        )
        db.session.commit()
    return changed
