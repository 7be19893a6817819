"""Admin accounts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash, generate_password_hash

from hub.extensions import db
from hub.models.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    """An admin who can log in to the hub.

    A session holds the token ``id:session_version`` (:meth:`get_id`). Raising the version ends every session
    of the admin at once, however long its signed cookie would still be accepted: logging out, a new password
    and deactivation do.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The session token Flask-Login stores (and would put in a remember cookie)."""
        return f"{self.id}:{self.session_version}"

    @classmethod
    def for_session(cls, token: str) -> User | None:
        """The admin whose session token this is, or None once their sessions were ended (or it is malformed)."""
        user_id, _, version = token.partition(":")
        if not (user_id.isdigit() and version.isdigit()):
            return None  # also a bare id from before session versions: such a session ends
        user = db.session.get(cls, int(user_id))
        return user if user is not None and user.session_version == int(version) else None

    def end_sessions(self) -> None:
        """End every session of this admin, on every browser (committed with the caller's change)."""
        self.session_version = (self.session_version or 0) + 1

    @validates("active")
    def _end_sessions_when_deactivated(self, _key: str, active: bool) -> bool:
        # Here rather than in one command, so that every way of deactivating ends the sessions; a later
        # reactivation then cannot revive them.
        if self.active and not active:
            self.end_sessions()
        return active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email}>"
