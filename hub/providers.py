"""What an attendance provider plugin implements, and the typed results and errors it returns.

A provider does HTTP and mapping only. The core owns storage, matching, validation, locking, history and
scheduling, so a new HR system is one class plus a settings form. The core also hands each call the limits it
must keep: a :class:`Deadline` (a connection check from a web page may not hold the page for minutes) and a
:class:`URLPolicy` (where the hub may send credentials).

Over 300 lines: this is the contract a plugin codes against, the limits included; one public module keeps it
in one place to read and to import from.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter

from hub.blackout import BlackoutWindow
from hub.pacing import Pace
from hub.records import DayRecord, RejectedRecord, RemoteMember

#: How much text from a provider (a remote error body quoted in a message) an admin is shown.
MESSAGE_LIMIT = 200


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when something was cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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

    def __post_init__(self) -> None:  # a message may quote a remote error body of any length
        object.__setattr__(self, "message", shorten(self.message))

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.OK


class Deadline:
    """A wall-time budget for one provider call: the core bounds a connection check a web page waits for.

    A provider passes each request's timeouts through :meth:`timeout` and each wait (backoff, Retry-After,
    pacing) through :meth:`sleep`, so it gives up with :class:`DeadlineExceeded` instead of waiting past the
    deadline. Without ``seconds`` it is unbounded, as for a sync, whose retry budget is the provider's own.
    """

    def __init__(self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = math.inf if seconds is None else clock() + seconds

    @property
    def bounded(self) -> bool:
        return self.seconds is not None

    def remaining(self) -> float:
        """Seconds left; ``math.inf`` when unbounded."""
        return self._end - self._clock()

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` when no time is left."""
        if self.remaining() <= 0:
            raise self.exceeded()

    def timeout(self, connect: float, read: float) -> tuple[float, float]:
        """``requests``' ``(connect, read)`` timeouts, each cut to the time left."""
        left = self.remaining()
        if left <= 0:
            raise self.exceeded()
        return min(connect, left), min(read, left)

    def sleep(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait ``seconds`` with ``sleep``, or raise at once when the deadline would pass first."""
        if seconds >= self.remaining():
            raise self.exceeded()
        sleep(seconds)

    def exceeded(self) -> DeadlineExceeded:
        seconds = f"{self.seconds:g}"
        return DeadlineExceeded(
            _(
                "The attendance system did not answer within %(seconds)s seconds. Try again in a few minutes.",
                seconds=seconds,
            )
        )


#: Cloud metadata services, where a server's own cloud credentials can be read: by name, then by address.
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("100.100.100.200", "192.0.0.192"))  # Alibaba, Oracle
_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))  # AWS, GCP, Azure metadata
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")  # fd00::/8 in use; AWS serves metadata at fd00:ec2::254


@dataclass(frozen=True)
class URLPolicy:
    """Where the hub sends requests: any http(s) host, loopback and private networks included (simulators,
    proxies), but no cloud metadata service and no link-local or IPv6 unique-local address, unless
    ``allow_private`` (``HUB_ALLOW_PRIVATE_URLS=1``). A URL is checked when it is saved (``hub.forms.ProviderURL``)
    and again before each request (:meth:`guard`): a host name may resolve elsewhere by then.
    """

    allow_private: bool = False

    @classmethod
    def configured(cls) -> URLPolicy:
        """The running hub's policy."""
        return cls(allow_private=bool(current_app.config.get("HUB_ALLOW_PRIVATE_URLS")))

    def check(self, url: str) -> None:
        """Raise :class:`URLNotAllowed`, saying why, for a URL the hub must send no request to."""
        parts = urlsplit(str(url))
        host = (parts.hostname or "").rstrip(".").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # a port that is not a number
            port = None
        if parts.scheme not in ("http", "https") or not host or port is None:
            raise URLNotAllowed(_("%(url)s is not an http:// or https:// URL.", url=shorten(url, 100)))
        if self.allow_private:
            return
        if host in METADATA_HOSTS:
            raise _refused(host, _("a cloud metadata service"))
        for address in _addresses(host, port):
            shown = host if host == str(address) else f"{host} ({address})"
            if address in _METADATA_ADDRESSES:
                raise _refused(shown, _("a cloud metadata service"))
            if any(address in network for network in _LINK_LOCAL):
                raise _refused(shown, _("a link-local address, where cloud metadata services answer"))
            if address in _UNIQUE_LOCAL:
                raise _refused(shown, _("an IPv6 unique-local address"))

    def guard(self, session: requests.Session) -> requests.Session:
        """``session``, checking every request it sends (each redirect too) first."""
        adapter = _GuardedAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: URLPolicy):
        super().__init__()
        self._policy = policy

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self._policy.check(request.url or "")
        return super().send(request, *args, **kwargs)


def _refused(host: str, kind: str) -> URLNotAllowed:
    return URLNotAllowed(
        _(
            "%(host)s is %(kind)s. The hub sends no requests there unless HUB_ALLOW_PRIVATE_URLS=1 is set.",
            host=host,
            kind=kind,
        )
    )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` stands for (itself when it is one); none when it does not resolve, as a request
    there fails on its own."""
    try:
        return [_unmapped(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return []
    return [_unmapped(ipaddress.ip_address(address)) for address in found]


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address (``::ffff:169.254.169.254``) as the IPv4 address it reaches."""
    return getattr(address, "ipv4_mapped", None) or address


@dataclass(frozen=True)
class ProviderSettings:
    """An integration's settings as a provider sees them: plain values with secrets decrypted.

    ``key`` identifies the integration, so a provider can cache a token per integration; ``timezone`` is the
    company time zone that day records' minutes are counted in. ``deadline`` bounds the call's wall time,
    ``url_policy`` says where its requests may go and ``pace`` how fast and how long to retry: a provider keeps
    all three (docs/plugins.md).
    """

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "Asia/Tokyo"
    deadline: Deadline = field(default_factory=Deadline)
    url_policy: URLPolicy = field(default_factory=URLPolicy)
    pace: Pace = field(default_factory=Pace)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __repr__(self) -> str:  # values hold secrets: never print them
        return f"ProviderSettings(key={self.key!r}, fields={sorted(self.values)})"


class ProviderError(Exception):
    """A provider call failed; ``str(error)`` is the message an admin reads, at most :data:`MESSAGE_LIMIT` long."""

    def __init__(self, message: str = "", *args: Any):
        super().__init__(shorten(message), *args)


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


class DeadlineExceeded(ProviderNetworkError):
    """The provider did not answer before the call's :class:`Deadline`."""


class URLNotAllowed(ProviderError):
    """A URL points where the hub sends no requests (see :class:`URLPolicy`)."""


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

    def blackout_windows(self, settings: ProviderSettings) -> Sequence[BlackoutWindow]:
        """The hours of every day the provider refuses API calls; none by default.

        Declare them only (no I/O): the core starts no sync inside one, moves the auto sync past it and stops
        a run that reaches one, changing nothing (docs/plugins.md).
        """
        return ()
