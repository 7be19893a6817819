"""Sync history: every run with its counts and progress, and what it could not sync."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.types import UTCDateTime, str_enum, utcnow


class Trigger(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"
    CLI = "cli"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
_ACTIVE = text("status IN ('queued', 'running')")


class IssueKind(StrEnum):
    UNMATCHED_REMOTE = "unmatched_remote"
    UNMATCHED_LOCAL = "unmatched_local"
    REJECTED = "rejected"
    MISSING_CLOCK_OUT = "missing_clock_out"
    CONFLICT = "conflict"


class SyncRun(db.Model):
    """One sync of one integration over a period."""

    __tablename__ = "sync_runs"
    # At most one queued or running run per integration, enforced by the database itself.
    __table_args__ = (
        Index(
            "uq_sync_runs_one_active",
            "integration_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="SET NULL"), index=True)
    integration_name: Mapped[str] = mapped_column(String(100))  # kept when the integration is deleted
    trigger: Mapped[Trigger] = mapped_column(str_enum(Trigger))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus), default=RunStatus.QUEUED)
    fetched: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    skipped_locked: Mapped[int] = mapped_column(default=0)
    # Days another integration stored that wins for the member (hub.sync.write.Precedence): left as they are.
    skipped_other_source: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    unmatched_remote: Mapped[int] = mapped_column(default=0)
    unmatched_local: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=0)
    throttled: Mapped[int] = mapped_column(default=0, server_default=text("0"))  # requests answered 429
    achieved_rate: Mapped[float | None] = mapped_column(Float)  # requests a second while fetching
    progress_stage: Mapped[str | None] = mapped_column(String(50))
    progress_percent: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issues: Mapped[list[SyncIssue]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="SyncIssue.id"
    )


class SyncIssue(db.Model):
    """Something a run could not sync, or synced with a warning."""

    __tablename__ = "sync_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IssueKind] = mapped_column(str_enum(IssueKind))
    employee_code: Mapped[str | None] = mapped_column(String(64))
    employee_name: Mapped[str | None] = mapped_column(String(200))
    remote_id: Mapped[str | None] = mapped_column(String(64))
    work_date: Mapped[date | None] = mapped_column()
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[SyncRun] = relationship(back_populates="issues")
