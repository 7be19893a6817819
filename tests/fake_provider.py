"""A tiny in-test provider: proves a new provider needs no core change, and drives the sync engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_wtf import FlaskForm
from wtforms import StringField

from hub import hookimpl
from hub.blackout import BlackoutWindow
from hub.forms import SecretField
from hub.providers import (
    CheckResult,
    CheckStatus,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    RateLimited,
)
from hub.records import DayRecord, Interval, RemoteMember


class FakeSettingsForm(FlaskForm):
    account = StringField("Account")
    token = SecretField("Token", description="Issued under Settings › API in Fake HR.")


@dataclass
class FakeHR:
    """What the fake HR system holds; tests change it between syncs."""

    employees: list[RemoteMember] = field(default_factory=list)
    days: dict[tuple[str, date], DayRecord] = field(default_factory=dict)
    fail_with: Exception | None = None
    calls: int = 0
    account: str | None = None  # the one account it serves; another is unreachable (None: any account)
    rate_limited: int = 0  # how many of the next requests answer "too many requests"
    blackouts: tuple[BlackoutWindow, ...] = ()  # the hours it refuses calls

    def day(self, remote_id: str, work_date: date, clock_in=540, clock_out=1080, breaks=((720, 780),), **extra):
        self.days[(remote_id, work_date)] = DayRecord(
            remote_id=remote_id,
            work_date=work_date,
            clock_in=clock_in,
            clock_out=clock_out,
            breaks=tuple(Interval(*b) for b in breaks),
            work_minutes=extra.pop("work", None),
            break_minutes=extra.pop("brk", None),
            **extra,
        )


class FakeProvider(Provider):
    name = "fakehr"
    label = "Fake HR"
    settings_form = FakeSettingsForm
    max_attempts = 3

    def __init__(self, hr: FakeHR):
        self.hr = hr

    def _request(self, settings) -> None:
        """One request to the fake system, retried while it answers "too many requests"."""
        for _attempt in range(self.max_attempts):
            settings.deadline.check()
            if self.hr.account is not None and settings.get("account") != self.hr.account:
                raise ProviderNetworkError("The HR system could not be reached; check the account name.")
            if settings.get("token") != "good":
                raise ProviderAuthError("The token is wrong.")
            if self.hr.rate_limited <= 0:
                return
            self.hr.rate_limited -= 1
        raise RateLimited("The HR system kept answering 'too many requests'; try again later.")

    def check(self, settings):
        try:
            self._request(settings)
        except ProviderAuthError as exc:
            return CheckResult(CheckStatus.BAD_CREDENTIALS, str(exc))
        except ProviderNetworkError as exc:
            return CheckResult(CheckStatus.NETWORK, str(exc))
        except RateLimited as exc:
            return CheckResult(CheckStatus.RATE_LIMITED, str(exc))
        return CheckResult(CheckStatus.OK, "Connected.")

    def blackout_windows(self, settings):
        return self.hr.blackouts

    def fetch_members(self, settings):
        self._request(settings)
        return list(self.hr.employees)

    def fetch_attendance(self, settings, remote_ids, start, end, progress):
        self._request(settings)
        self.hr.calls += 1
        wanted = set(remote_ids)
        records = [
            record
            for (remote_id, day), record in sorted(self.hr.days.items())
            if remote_id in wanted and start <= day <= end
        ]
        progress(stage="fetch", done=1, total=2, requests=3)
        if self.hr.fail_with is not None:
            raise self.hr.fail_with
        progress(stage="fetch", done=2, total=2, requests=5)
        return records


class FakePlugin:
    def __init__(self, hr: FakeHR):
        self.hr = hr

    @hookimpl
    def hub_providers(self):
        return [FakeProvider(self.hr)]


__all__ = ["FakeHR", "FakePlugin", "FakeProvider", "ProviderError"]
