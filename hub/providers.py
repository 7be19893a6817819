"""What an attendance provider plugin implements, and the typed results and errors it returns.

A provider does HTTP and mapping only. The core owns storage, matching, validation, locking, history and
scheduling, so a new HR system is one class plus a settings form.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from hub.records import DayRecord, RejectedRecord, RemoteMember


class CheckStatus(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    MISSING_SCOPE = "missing_scope"
    NETWORK = "network"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a connection check, with a message an admin can act on."""

    status: CheckStatus
    message: str = ""
    missing_scopes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.OK


@dataclass(frozen=True)
class ProviderSettings:
    """An integration's settings as a provider sees them: plain values with secrets decrypted.

    ``key`` identifies the integration, so a provider can cache a token per integration; ``timezone`` is the
    company time zone that day records' minutes are counted in.
    """

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "Asia/Tokyo"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __repr__(self) -> str:  # values hold secrets: never print them
        return f"ProviderSettings(key={self.key!r}, fields={sorted(self.values)})"


class ProviderError(Exception):
    """A provider call failed; ``str(error)`` is the message an admin reads."""


class ProviderAuthError(ProviderError):
    """The ID or secret was refused."""


class MissingScopeError(ProviderError):
    """The credentials work but lack one or more scopes."""

    def __init__(self, message: str, scopes: Iterable[str] = ()):
        super().__init__(message)
        self.scopes = tuple(scopes)


class ProviderNetworkError(ProviderError):
    """The provider could not be reached (DNS, refused connection, timeout, TLS)."""


class RateLimited(ProviderError):
    """The provider kept answering 429 beyond the retries allowed."""


class Progress(Protocol):
    """Told how far a fetch has come; ``requests`` is the number of HTTP requests made so far."""

    def __call__(self, *, stage: str, done: int, total: int, requests: int) -> None: ...


class Provider(ABC):
    """An attendance system the hub can pull members and daily attendance from."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("settings_title") and "label" in cls.__dict__:
            cls.settings_title = cls.label

    #: Stable identifier stored with each integration, e.g. ``"jobcan"``.
    name: ClassVar[str]
    #: What admins see, e.g. ``"ジョブカン勤怠管理"``.
    label: ClassVar[str]
    #: How the connected flash names it, e.g. ``"ジョブカン"`` → 「ジョブカン設定(本社)と連携しました。」.
    settings_title: ClassVar[str] = ""
    #: A Flask-WTF form class; fields that are :class:`hub.forms.SecretField` are stored encrypted.
    settings_form: ClassVar[type]

    @abstractmethod
    def check(self, settings: ProviderSettings) -> CheckResult:
        """Verify the credentials and permissions without changing anything."""

    @abstractmethod
    def fetch_members(self, settings: ProviderSettings) -> list[RemoteMember]:
        """Every employee the provider knows, with their codes."""

    @abstractmethod
    def fetch_attendance(
        self,
        settings: ProviderSettings,
        remote_ids: Iterable[str],
        start: date,
        end: date,
        progress: Progress,
    ) -> Iterable[DayRecord | RejectedRecord]:
        """Day records of ``remote_ids`` for work dates ``start``..``end`` inclusive.

        A day whose data the provider cannot read (an unknown leave type, a malformed time) is yielded as a
        :class:`RejectedRecord` naming the field and value: the core reports it, skips it and writes the rest,
        and the run ends partial. Raises a :class:`ProviderError` when the fetch cannot complete: the core then
        changes nothing.
        """
