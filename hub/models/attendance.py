"""Attendance (勤怠) as synced or imported: one row per member and work date, with its breaks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.types import UTCDateTime, str_enum, utcnow
from hub.records import LeaveKind


class AttendanceDay(db.Model):
    """A member's attendance on one work date; times are minutes from its midnight (may pass 1,440)."""

    __tablename__ = "attendance_days"
    __table_args__ = (UniqueConstraint("member_id", "work_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    work_date: Mapped[date] = mapped_column(index=True)
    clock_in: Mapped[int | None] = mapped_column()
    clock_out: Mapped[int | None] = mapped_column()
    work_minutes: Mapped[int | None] = mapped_column()
    break_minutes: Mapped[int | None] = mapped_column()
    leave: Mapped[LeaveKind] = mapped_column(str_enum(LeaveKind), default=LeaveKind.NONE)
    leave_name: Mapped[str | None] = mapped_column(String(100))
    # Payroll totals as the provider computed them, in minutes; None when it does not say (not 0).
    overtime_minutes: Mapped[int | None] = mapped_column()  # 残業
    late_night_minutes: Mapped[int | None] = mapped_column()  # 深夜
    late_minutes: Mapped[int | None] = mapped_column()  # 遅刻
    early_leave_minutes: Mapped[int | None] = mapped_column()  # 早退
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="SET NULL"), index=True)
    source_file: Mapped[str | None] = mapped_column(String(255))  # set when imported from a CSV
    remote_id: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    breaks: Mapped[list[AttendanceBreak]] = relationship(
        back_populates="day", cascade="all, delete-orphan", order_by="AttendanceBreak.start"
    )
    hourly_leaves: Mapped[list[HourlyLeaveInterval]] = relationship(
        back_populates="day", cascade="all, delete-orphan", order_by="HourlyLeaveInterval.start"
    )


class AttendanceBreak(db.Model):
    """One break (休憩) of an attendance day."""

    __tablename__ = "attendance_breaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("attendance_days.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column()
    end: Mapped[int] = mapped_column()

    day: Mapped[AttendanceDay] = relationship(back_populates="breaks")


class HourlyLeaveInterval(db.Model):
    """One hourly leave (時間休) of an attendance day, kept apart from breaks."""

    __tablename__ = "hourly_leave_intervals"

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("attendance_days.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column()
    end: Mapped[int] = mapped_column()
    name: Mapped[str | None] = mapped_column(String(100))

    day: Mapped[AttendanceDay] = relationship(back_populates="hourly_leaves")
