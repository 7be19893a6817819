"""Integrations (外部連携): a configured connection to one provider account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.encryption import secret_box
from hub.extensions import db
from hub.models.types import UTCDateTime, str_enum, utcnow


class Health(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    ERROR = "error"


class Integration(db.Model):
    """A provider account the hub syncs from; secrets are stored encrypted, never in ``settings``."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100), unique=True)  # 連携名
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_token: Mapped[str | None] = mapped_column(Text)
    auto_sync: Mapped[bool] = mapped_column(default=True)  # 自動同期
    # 優先度: when two integrations store the same member's day, the higher keeps it (hub.sync.write.Precedence).
    priority: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    health: Mapped[Health] = mapped_column(str_enum(Health), default=Health.UNKNOWN)
    health_message: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Requests a second the last run's pace ended at (hub.pacing): where the next run starts.
    learned_rate: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def read_secrets(self) -> dict[str, str]:
        """The decrypted secrets; keep them out of pages, logs, errors and exports."""
        return secret_box().decrypt(self.secrets_token) if self.secrets_token else {}

    def write_secrets(self, values: dict[str, str]) -> None:
        self.secrets_token = secret_box().encrypt(values) if values else None

    def __repr__(self) -> str:
        return f"<Integration {self.provider}:{self.name}>"
