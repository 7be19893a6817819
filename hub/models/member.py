"""Members (メンバー): the people whose attendance and man-hours the hub holds."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.types import UTCDateTime, str_enum, utcnow


class PriceUnit(StrEnum):
    MONTHLY = "monthly"  # 月額
    HOURLY = "hourly"  # 時給


class Member(db.Model):
    """A person, identified by their employee code (社員コード) after NFKC normalization."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 社員コード, normalized
    name: Mapped[str] = mapped_column(String(200))  # 名前
    department: Mapped[str | None] = mapped_column(String(200))  # 部署
    position: Mapped[str | None] = mapped_column(String(200))  # 役職
    employment_type: Mapped[str | None] = mapped_column(String(100))  # 雇用形態
    affiliation: Mapped[str | None] = mapped_column(String(200))  # 所属
    unit_price: Mapped[int | None] = mapped_column()  # 単価 (yen)
    price_unit: Mapped[PriceUnit | None] = mapped_column(str_enum(PriceUnit))
    start_date: Mapped[date | None] = mapped_column()  # 開始日
    end_date: Mapped[date | None] = mapped_column()  # 終了日
    # 勤怠の優先連携: the integration whose days win for this member, whatever the priorities say.
    preferred_integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def is_active_on(self, day: date) -> bool:
        """Whether the member belongs to the company on ``day`` (開始日 ≤ day ≤ 終了日)."""
        started = self.start_date is None or self.start_date <= day
        return started and (self.end_date is None or day <= self.end_date)

    def __repr__(self) -> str:
        return f"<Member {self.code}>"
