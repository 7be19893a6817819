"""Man-hours (工数) booked on projects, and the review state of each timesheet day."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.types import UTCDateTime, str_enum, utcnow


class Project(db.Model):
    """A project man-hours are booked on."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class TimeEntry(db.Model):
    """Minutes a member booked on a project on one date, in the settings' input unit."""

    __tablename__ = "time_entries"
    __table_args__ = (UniqueConstraint("member_id", "work_date", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    work_date: Mapped[date] = mapped_column(index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    minutes: Mapped[int] = mapped_column()

    project: Mapped[Project] = relationship(lazy="joined")


class DayState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"


class TimesheetDay(db.Model):
    """A member's timesheet day; submitted and approved days are locked against sync and edits."""

    __tablename__ = "timesheet_days"
    __table_args__ = (UniqueConstraint("member_id", "work_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    work_date: Mapped[date] = mapped_column()
    state: Mapped[DayState] = mapped_column(str_enum(DayState), default=DayState.DRAFT)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def locked(self) -> bool:
        return self.state is not DayState.DRAFT
