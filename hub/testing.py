"""A conformance suite for attendance providers: the contract of :class:`hub.providers.Provider` as pytest tests.

A provider plugin runs the suite against its own fake of the HR system (a simulator on loopback, a
``requests-mock`` adapter, an in-memory stand-in). Implement a :class:`ConformanceHarness` that points the
provider at the fake and can break it on demand, then subclass :class:`ProviderConformance` in a test module
and give it a ``harness`` fixture::

    import pytest

    from hub.testing import ConformanceHarness, ProviderConformance


    class KingOfTimeHarness(ConformanceHarness):
        ...  # provider, valid_settings(), invalid_settings(), … (see ConformanceHarness)


    class TestKingOfTimeConformance(ProviderConformance):
        @pytest.fixture
        def harness(self):
            with FakeKingOfTime() as fake:
                yield KingOfTimeHarness(fake)

pytest collects every ``test_*`` method of the subclass. Each test gets a fresh harness and runs inside the app
context of :meth:`ProviderConformance.conformance_app`, so a provider may call ``flask_babel.gettext``. A fake
that cannot rate-limit sets :attr:`ConformanceHarness.supports_rate_limit` to ``False`` and those tests are
skipped; a provider without scopes returns ``None`` from
:meth:`ConformanceHarness.settings_missing_scope`.

This module needs pytest, which is a test dependency of the hub, not a run-time one.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import date, datetime
from itertools import pairwise
from typing import Any, ClassVar

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_wtf import FlaskForm

from hub.forms import secret_field_names
from hub.providers import (
    CheckResult,
    CheckStatus,
    Provider,
    ProviderAuthError,
    ProviderNetworkError,
    ProviderSettings,
    RateLimited,
)
from hub.records import DayRecord, Interval, RemoteMember

__all__ = ["ConformanceHarness", "ProgressRecorder", "ProviderConformance"]


class ConformanceHarness(ABC):
    """What a plugin supplies so the suite can drive its provider against the plugin's own fake.

    Set :attr:`provider` (usually in ``__init__``); every settings method returns settings that point at the
    fake. One harness serves one test, so fault methods need not undo themselves.
    """

    #: The provider under test, wired to the fake (e.g. with a fast ``sleep`` for its retries).
    provider: Provider
    #: ``False`` when the fake cannot answer "too many requests": the rate-limit tests are skipped.
    supports_rate_limit: ClassVar[bool] = True

    @abstractmethod
    def valid_settings(self) -> ProviderSettings:
        """Settings with working credentials and every scope."""

    @abstractmethod
    def invalid_settings(self) -> ProviderSettings:
        """Settings whose secret is wrong (the fake refuses it)."""

    def settings_missing_scope(self) -> ProviderSettings | None:
        """Working credentials that lack at least one scope; ``None`` when the provider has no scopes."""
        return None

    @abstractmethod
    def unreachable_settings(self) -> ProviderSettings:
        """Settings pointing where nothing answers (e.g. ``http://127.0.0.1:9``)."""

    @abstractmethod
    def expected_members(self) -> int:
        """How many remote members the fake holds; more than one page's worth exercises paging."""

    @abstractmethod
    def period(self) -> tuple[date, date]:
        """First and last work date to fetch (inclusive); the fake has attendance in it."""

    def expire_credentials(self) -> None:
        """Make the tokens issued so far invalid, so the provider must renew them; a no-op without tokens."""
        return None  # deliberately optional: many fakes have no tokens

    def inject_rate_limit(self, count: int) -> None:
        """The next ``count`` calls answer "too many requests"; the provider must retry and succeed."""
        raise NotImplementedError("implement inject_rate_limit() or set supports_rate_limit = False")

    def persistent_rate_limit(self) -> None:
        """Every call answers "too many requests" until :meth:`clear_faults`."""
        raise NotImplementedError("implement persistent_rate_limit() or set supports_rate_limit = False")

    def clear_faults(self) -> None:
        """Stop every injected fault; override it when the fake outlives the harness (a shared server)."""
        return None  # deliberately optional: a fake made for one test dies with it


class ProgressRecorder:
    """A ``progress`` callback that keeps every call, to check how a provider reports progress."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))


class ProviderConformance:
    """The provider contract as tests; subclass it as ``Test…`` and add a ``harness`` fixture."""

    #: How many members the attendance tests ask for: every other one (so filtering is checked), at most this.
    attendance_sample: ClassVar[int] = 20
    #: Seconds within which a provider must give up under a rate limit that never lifts.
    rate_limit_give_up_seconds: ClassVar[float] = 30.0

    @pytest.fixture
    def harness(self) -> ConformanceHarness:
        """Override in the subclass: yield a :class:`ConformanceHarness` wired to the plugin's fake."""
        raise NotImplementedError("define a `harness` fixture in your ProviderConformance subclass")

    @pytest.fixture(autouse=True)
    def conformance_app(self, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
        """A throwaway hub app whose context is active during each test (forms, gettext)."""
        from hub import create_app

        monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "conformance-instance"))
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "SECRET_KEY": "x",
                "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            }
        )
        with app.app_context():
            yield app

    # --- helpers -----------------------------------------------------------------------------------

    def asked_ids(self, members: list[RemoteMember]) -> list[str]:
        """The remote ids the attendance tests ask for: every other member, at most :attr:`attendance_sample`."""
        ordered = sorted(member.remote_id for member in members)
        return ordered[::2][: self.attendance_sample]

    def fetch(self, harness: ConformanceHarness, progress: Any = None) -> tuple[list[RemoteMember], list[DayRecord]]:
        """Members, then the sample's day records of the period, each in a stable order for comparing."""
        settings = harness.valid_settings()
        members = harness.provider.fetch_members(settings)
        start, end = harness.period()
        records = harness.provider.fetch_attendance(
            settings, self.asked_ids(members), start, end, progress or ProgressRecorder()
        )
        return sorted(members, key=repr), sorted(records, key=lambda r: (r.remote_id, r.work_date, repr(r)))

    @staticmethod
    def secret_values(provider: Provider, *all_settings: ProviderSettings) -> list[str]:
        """The non-empty values of the settings form's secret fields."""
        names = secret_field_names(provider.settings_form)
        return [str(s.get(name)) for s in all_settings for name in names if s.get(name)]

    # --- identity and settings form ----------------------------------------------------------------

    def test_names_and_settings_form(self, harness: ConformanceHarness, conformance_app: Flask) -> None:
        from hub.integrations.forms import CORE_FIELDS

        provider = harness.provider
        assert isinstance(provider, Provider)
        for attribute in ("name", "label", "settings_title"):
            value = getattr(provider, attribute)
            assert isinstance(value, str) and value.strip(), f"provider.{attribute} must be a non-empty string"
        form_class = provider.settings_form
        assert isinstance(form_class, type) and issubclass(form_class, FlaskForm), "settings_form: a FlaskForm class"
        assert secret_field_names(form_class), "settings_form needs at least one hub.forms.SecretField"
        with conformance_app.test_request_context():
            fields = {field.name for field in form_class(meta={"csrf": False})}
        clashing = fields & set(CORE_FIELDS)
        assert not clashing, f"settings_form fields clash with the core's integration form: {sorted(clashing)}"

    # --- check() ----------------------------------------------------------------------------------

    def test_check_ok_with_valid_settings(self, harness: ConformanceHarness) -> None:
        result = harness.provider.check(harness.valid_settings())
        assert isinstance(result, CheckResult)
        assert result.status == CheckStatus.OK and result.ok, result.message

    def test_check_reports_bad_credentials_without_the_secret(self, harness: ConformanceHarness) -> None:
        result = harness.provider.check(harness.invalid_settings())
        assert result.status == CheckStatus.BAD_CREDENTIALS, result.message
        assert result.message.strip(), "tell the admin what to check"
        for secret in self.secret_values(harness.provider, harness.invalid_settings(), harness.valid_settings()):
            assert secret not in result.message, "the message shows a secret"

    def test_check_names_missing_scopes(self, harness: ConformanceHarness) -> None:
        settings = harness.settings_missing_scope()
        if settings is None:
            pytest.skip("the provider has no scopes")
        result = harness.provider.check(settings)
        assert result.status == CheckStatus.MISSING_SCOPE, result.message
        assert result.missing_scopes, "missing_scopes must name the scope(s) to add"
        for scope in result.missing_scopes:
            assert isinstance(scope, str) and scope in result.message, f"the message does not name {scope!r}"

    def test_check_reports_unreachable_as_network(self, harness: ConformanceHarness) -> None:
        result = harness.provider.check(harness.unreachable_settings())
        assert result.status == CheckStatus.NETWORK, result.message
        assert result.message.strip(), "tell the admin what to check"

    # --- typed errors from fetches -----------------------------------------------------------------

    def test_fetch_with_bad_credentials_raises_auth_error(self, harness: ConformanceHarness) -> None:
        with pytest.raises(ProviderAuthError) as raised:
            harness.provider.fetch_members(harness.invalid_settings())
        assert str(raised.value).strip()
        for secret in self.secret_values(harness.provider, harness.invalid_settings(), harness.valid_settings()):
            assert secret not in str(raised.value), "the error shows a secret"

    def test_fetch_from_unreachable_raises_network_error(self, harness: ConformanceHarness) -> None:
        with pytest.raises(ProviderNetworkError) as raised:
            harness.provider.fetch_members(harness.unreachable_settings())
        assert str(raised.value).strip()

    # --- fetch_members() and fetch_attendance() ----------------------------------------------------

    def test_fetch_members_returns_every_member(self, harness: ConformanceHarness) -> None:
        members = harness.provider.fetch_members(harness.valid_settings())
        assert len(members) == harness.expected_members()
        for member in members:
            assert isinstance(member, RemoteMember)
            assert isinstance(member.remote_id, str) and member.remote_id, member
            assert isinstance(member.code, str) and isinstance(member.name, str), member
            assert member.retired_on is None or type(member.retired_on) is date, member
        assert len({member.remote_id for member in members}) == len(members), "remote_id must be unique"

    def test_fetch_attendance_returns_valid_day_records(self, harness: ConformanceHarness) -> None:
        members, records = self.fetch(harness)
        asked = set(self.asked_ids(members))
        start, end = harness.period()
        assert records, "the fake should hold attendance for the asked members in the period"
        keys = [(record.remote_id, record.work_date) for record in records]
        assert len(set(keys)) == len(keys), "one record per member and work date"
        for record in records:
            assert isinstance(record, DayRecord), record
            assert record.remote_id in asked, f"not asked for: {record.remote_id!r}"
            assert type(record.work_date) is date and not isinstance(record.work_date, datetime), record
            assert start <= record.work_date <= end, f"outside the period: {record.work_date}"
            for value in (record.clock_in, record.clock_out, record.work_minutes, record.break_minutes):
                assert value is None or (isinstance(value, int) and not isinstance(value, bool)), record
            if record.clock_in is not None and record.clock_out is not None:
                assert record.clock_out >= record.clock_in, record
            self._check_breaks(record)

    @staticmethod
    def _check_breaks(record: DayRecord) -> None:
        for interval in record.breaks:
            assert isinstance(interval, Interval), record
            assert isinstance(interval.start, int) and isinstance(interval.end, int), record
            assert interval.start <= interval.end, f"a break ends before it starts: {record}"
            if record.clock_in is not None:
                assert interval.start >= record.clock_in, f"a break before clock-in: {record}"
            if record.clock_out is not None:
                assert interval.end <= record.clock_out, f"a break after clock-out: {record}"
        for earlier, later in pairwise(record.breaks):
            assert later.start >= earlier.end, f"breaks out of order or overlapping: {record}"

    def test_fetch_attendance_reports_progress(self, harness: ConformanceHarness) -> None:
        progress = ProgressRecorder()
        self.fetch(harness, progress)
        assert progress.calls, "call progress(stage=, done=, total=, requests=) as the fetch advances"
        requests = []
        for args, kwargs in progress.calls:
            assert not args, "progress takes keyword arguments only"
            assert set(kwargs) == {"stage", "done", "total", "requests"}, kwargs
            assert isinstance(kwargs["stage"], str) and kwargs["stage"], kwargs
            assert all(isinstance(kwargs[key], int) for key in ("done", "total", "requests")), kwargs
            assert 0 <= kwargs["done"] <= kwargs["total"], kwargs
            requests.append(kwargs["requests"])
        assert requests == sorted(requests) and requests[0] >= 0, f"requests made so far, never less: {requests}"

    def test_fetch_is_deterministic(self, harness: ConformanceHarness) -> None:
        assert self.fetch(harness) == self.fetch(harness)

    # --- recovering from expiry and rate limits ---------------------------------------------------

    def test_expired_credentials_are_renewed(self, harness: ConformanceHarness) -> None:
        before = self.fetch(harness)
        harness.expire_credentials()
        assert self.fetch(harness) == before

    def test_rate_limited_calls_are_retried(self, harness: ConformanceHarness) -> None:
        if not harness.supports_rate_limit:
            pytest.skip("the fake cannot rate-limit")
        members, records = self.fetch(harness)
        harness.inject_rate_limit(2)
        again = harness.provider.fetch_members(harness.valid_settings())
        assert sorted(again, key=repr) == members
        harness.inject_rate_limit(2)
        assert self.fetch(harness) == (members, records)

    def test_persistent_rate_limit_gives_up(self, harness: ConformanceHarness) -> None:
        if not harness.supports_rate_limit:
            pytest.skip("the fake cannot rate-limit")
        settings = harness.valid_settings()
        harness.persistent_rate_limit()
        try:
            began = time.monotonic()
            with pytest.raises(RateLimited) as raised:
                harness.provider.fetch_members(settings)
            assert str(raised.value).strip()
            result = harness.provider.check(settings)
            elapsed = time.monotonic() - began
        finally:
            harness.clear_faults()
        # A check that never calls a rate-limited endpoint may say OK; it must not blame the credentials.
        assert result.status in (CheckStatus.RATE_LIMITED, CheckStatus.OK), result.message
        assert elapsed < self.rate_limit_give_up_seconds, f"gave up only after {elapsed:.1f} s"
