"""The hub's data model (SQLAlchemy 2 typed models; Alembic revisions in ``migrations/``)."""

from hub.models.attendance import AttendanceBreak, AttendanceDay, HourlyLeaveInterval
from hub.models.audit import AuditLog
from hub.models.integration import Health, Integration
from hub.models.member import Member, PriceUnit
from hub.models.settings import INPUT_UNITS, Settings
from hub.models.sync import ACTIVE_STATUSES, IssueKind, RunStatus, SyncIssue, SyncRun, Trigger
from hub.models.timesheet import DayState, Project, TimeEntry, TimesheetDay
from hub.models.types import utcnow
from hub.models.user import User

__all__ = [
    "ACTIVE_STATUSES",
    "INPUT_UNITS",
    "AttendanceBreak",
    "AttendanceDay",
    "AuditLog",
    "DayState",
    "Health",
    "HourlyLeaveInterval",
    "Integration",
    "IssueKind",
    "Member",
    "PriceUnit",
    "Project",
    "RunStatus",
    "Settings",
    "SyncIssue",
    "SyncRun",
    "TimeEntry",
    "TimesheetDay",
    "Trigger",
    "User",
    "utcnow",
]
