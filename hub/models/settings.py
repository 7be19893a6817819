"""基本設定 › タイムシート設定: the one row of company-wide timesheet settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.types import UTCDateTime, utcnow

INPUT_UNITS = (1, 5, 10, 15, 30, 60)


class Settings(db.Model):
    """Timesheet settings; times are minutes from midnight, like attendance."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_unit: Mapped[int] = mapped_column(default=15)  # 入力単位(分)
    use_attendance: Mapped[bool] = mapped_column(default=True)  # 勤怠の使用
    clock_in: Mapped[int] = mapped_column(default=9 * 60)  # 出社時間
    clock_out: Mapped[int] = mapped_column(default=18 * 60)  # 退社時間
    break1_start: Mapped[int | None] = mapped_column(default=12 * 60)  # 休憩1
    break1_end: Mapped[int | None] = mapped_column(default=13 * 60)
    break2_start: Mapped[int | None] = mapped_column()  # 休憩2
    break2_end: Mapped[int | None] = mapped_column()
    mismatch_threshold: Mapped[int] = mapped_column(default=15)  # 工数と勤怠の一致(分)
    use_leave: Mapped[bool] = mapped_column(default=True)  # 休暇の使用
    am_leave_start: Mapped[int] = mapped_column(default=9 * 60)  # 午前休
    am_leave_end: Mapped[int] = mapped_column(default=13 * 60)
    pm_leave_start: Mapped[int] = mapped_column(default=14 * 60)  # 午後休
    pm_leave_end: Mapped[int] = mapped_column(default=18 * 60)
    use_process_input: Mapped[bool] = mapped_column(default=True)  # 工程入力
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def load(cls, default_timezone: str = "Asia/Tokyo") -> Settings:
        """The settings row, created with the seed's defaults the first time it is asked for."""
        settings = db.session.get(cls, 1)
        if settings is None:
            settings = cls(id=1, timezone=default_timezone)
            db.session.add(settings)
            db.session.flush()
        return settings

    @classmethod
    def company_timezone(cls, default: str) -> str:
        """The company time zone: the saved setting, else ``default`` (``HUB_TIMEZONE``) before it is saved."""
        settings = db.session.get(cls, 1)
        return settings.timezone if settings else default
