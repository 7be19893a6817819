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
context of :meth:`ProviderConformance.conformance_app` (a throwaway hub with the provider installed), so a
provider may call ``flask_babel.gettext``. A fake that cannot rate-limit sets
:attr:`ConformanceHarness.supports_rate_limit` to ``False`` and those tests are skipped; a provider without
scopes returns ``None`` from :meth:`ConformanceHarness.settings_missing_scope`; a fake that cannot serve a
day the provider's mapping cannot read returns ``None`` from :meth:`ConformanceHarness.inject_unreadable_day`.

This module needs pytest, which is a test dependency of the hub, not a run-time one. Over 300 lines: the
contract is one class of tests a plugin subclasses, read top-down as the contract is; splitting it would
scatter the contract over modules a plugin author then has to find.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any, ClassVar

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_wtf import FlaskForm

from hub import hookimpl
from hub.blackout import BlackoutWindow, window_at
from hub.cells import unneutralize
from hub.forms import CORE_FIELDS, secret_bindings, secret_field_names
from hub.pacing import Pace
from hub.providers import (
    CheckResult,
    CheckStatus,
    Deadline,
    Progress,
    Provider,
    ProviderAuthError,
    ProviderNetworkError,
    ProviderSettings,
    RateLimited,
)
from hub.records import DayRecord, Interval, RemoteMember

__all__ = ["ConformanceHarness", "ProgressRecorder", "ProviderConformance"]

#: The day blackout windows are read on.
SAMPLE_DAY = datetime(2026, 11, 2)


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

    def inject_unreadable_day(self, remote_id: str, work_date: date) -> str | None:
        """Make the fake answer, for this employee and work date, data the provider's mapping cannot read (an
        unknown leave type, a malformed time …). Return text the rejection's message must contain (the
        offending value), or ``None`` when the fake cannot: the test is then skipped."""
        return None  # deliberately optional: not every fake can serve odd data


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
    #: The run's retry budget (``settings.pace``) in the cases that fail for good: a sync's is minutes.
    retry_budget_seconds: ClassVar[float] = 2.0

    @pytest.fixture
    def harness(self) -> ConformanceHarness:
        """Override in the subclass: yield a :class:`ConformanceHarness` wired to the plugin's fake."""
        raise NotImplementedError("define a `harness` fixture in your ProviderConformance subclass")

    @pytest.fixture(autouse=True)
    def conformance_app(self, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
        """A throwaway hub app whose context is active during each test (forms, gettext)."""
        monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "conformance-instance"))
        with _hub_app("sqlite://").app_context() as context:
            yield context.app

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
        for secret, bound in secret_bindings(form_class).items():
            unknown = sorted(set(bound) - fields)
            assert not unknown, f"SecretField {secret} is bound_to fields the form does not have: {unknown}"

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
        settings = dataclasses.replace(harness.unreachable_settings(), deadline=Deadline(10))  # a web page's
        result = harness.provider.check(settings)
        assert result.status == CheckStatus.NETWORK, result.message
        assert result.message.strip(), "tell the admin what to check"

    def test_check_keeps_its_deadline(self, harness: ConformanceHarness) -> None:
        """A check from a web page gets a deadline: past it, no request is sent and the check answers NETWORK
        with the deadline's message (pass waits through ``deadline.sleep``, timeouts through
        ``deadline.timeout``)."""
        deadline = Deadline(0)
        result = harness.provider.check(dataclasses.replace(harness.valid_settings(), deadline=deadline))
        assert result.status == CheckStatus.NETWORK, result.message
        assert result.message == str(deadline.exceeded()), result.message

    # --- typed errors from fetches -----------------------------------------------------------------

    def test_fetch_with_bad_credentials_raises_auth_error(self, harness: ConformanceHarness) -> None:
        with pytest.raises(ProviderAuthError) as raised:
            harness.provider.fetch_members(harness.invalid_settings())
        assert str(raised.value).strip()
        for secret in self.secret_values(harness.provider, harness.invalid_settings(), harness.valid_settings()):
            assert secret not in str(raised.value), "the error shows a secret"

    def short_budget(self, settings: ProviderSettings) -> ProviderSettings:
        """``settings`` whose pace stops retrying after :attr:`retry_budget_seconds` without a success."""
        return dataclasses.replace(settings, pace=Pace(stall_seconds=self.retry_budget_seconds))

    def test_fetch_from_unreachable_raises_network_error(self, harness: ConformanceHarness) -> None:
        with pytest.raises(ProviderNetworkError) as raised:
            harness.provider.fetch_members(self.short_budget(harness.unreachable_settings()))
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
        settings = self.short_budget(harness.valid_settings())
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

    # --- blackout windows ------------------------------------------------------------------------

    def test_blackout_windows_are_well_formed(self, harness: ConformanceHarness) -> None:
        """The hours the provider refuses calls (none is fine): a list of :class:`hub.blackout.BlackoutWindow`
        on a time-zone-aware clock, declared without I/O, leaving at least an hour a day to sync in."""
        settings = harness.valid_settings()
        windows = harness.provider.blackout_windows(settings)
        assert isinstance(windows, Sequence), f"return a list or tuple of hub.blackout.BlackoutWindow: {windows!r}"
        for window in windows:
            assert isinstance(window, BlackoutWindow), f"not a hub.blackout.BlackoutWindow: {window!r}"
            assert window.start.tzinfo is None and window.end.tzinfo is None, f"naive times, tz apart: {window}"
            assert window.start < window.end, f"start before end; split a window across midnight: {window}"
            aware = isinstance(window.tz, tzinfo) and window.tz.utcoffset(SAMPLE_DAY) is not None
            assert aware, f"tz must be a time zone such as ZoneInfo('Asia/Tokyo'): {window}"
        assert list(harness.provider.blackout_windows(settings)) == list(windows), "declare the same windows each time"
        midnight = SAMPLE_DAY.replace(tzinfo=UTC)
        open_minutes = sum(window_at(windows, midnight + timedelta(minutes=m)) is None for m in range(24 * 60))
        assert open_minutes >= 60, f"the windows leave {open_minutes} minutes a day to sync in"

    # --- odd data is a rejection, not a failed run ------------------------------------------------

    def test_an_unreadable_day_is_rejected_and_the_rest_stored(
        self, harness: ConformanceHarness, tmp_path: Any
    ) -> None:
        """A day the mapping cannot read is a RejectedRecord: ``hub sync`` ends partial (exit 0) with one
        rejected issue naming the employee, the date and the value, and every other day is stored.

        Driven through the hub's own commands (members import, integrations add, sync, export), as an admin
        would script it.
        """
        members, records = self.fetch(harness)
        days = [record for record in records if isinstance(record, DayRecord)]
        assert days, "the fake should hold attendance for the asked members in the period"
        target = days[len(days) // 2]
        needle = harness.inject_unreadable_day(target.remote_id, target.work_date)
        if needle is None:
            pytest.skip("the fake cannot serve a day the mapping cannot read")
        asked = set(self.asked_ids(members))
        codes = {member.remote_id: member.code for member in members if member.remote_id in asked}
        assert all(codes.values()), "asked members need employee codes to be matched"
        app = _hub_app(f"sqlite:///{tmp_path / 'sync.sqlite3'}", _ProviderUnderTest(harness.provider))
        with app.app_context():  # the hub commands run in this app, not the suite's conformance_app
            cli = app.test_cli_runner()
            roster = tmp_path / "members.csv"
            roster.write_text("社員コード,名前\n" + "".join(f"{code},member {code}\n" for code in codes.values()))
            _invoke(cli, "members", "import", str(roster))
            settings = [f"{key}={_cli_value(value)}" for key, value in harness.valid_settings().values.items()]
            name = _ProviderUnderTest.name_for(harness.provider)
            _invoke(cli, "integrations", "add", name, "conformance", "--no-auto-sync", *_each("--set", settings))

            start, end = (day.isoformat() for day in harness.period())
            run = json.loads(_invoke(cli, "sync", "conformance", "--from", start, "--to", end, "--json").stdout)
            assert run["status"] == "partial", run
            rejected = [issue for issue in run["issues"] if issue["kind"] == "rejected"]
            assert run["counts"]["rejected"] == 1 and len(rejected) == 1, rejected
            issue = rejected[0]
            assert (issue["employee_code"], issue["date"]) == (codes[target.remote_id], target.work_date.isoformat())
            assert needle in issue["message"], f"the rejection should name the value {needle!r}: {issue['message']}"
            export = _invoke(cli, "export", "csv", "--from", start, "--to", end, "--encoding", "utf-8").stdout
            stored = {(unneutralize(row[0]), row[1]) for row in list(csv.reader(io.StringIO(export)))[1:]}
            expected = {(codes[day.remote_id], day.work_date.isoformat()) for day in days}
        assert stored == expected - {(codes[target.remote_id], target.work_date.isoformat())}


def _hub_app(database: str, *plugins: object) -> Flask:
    """A throwaway hub with its tables, and ``plugins`` installed beside the entry points."""
    from hub import create_app
    from hub.extensions import db

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database,
        "SECRET_KEY": "x",
        "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
        "HUB_QUEUE_IMMEDIATE": True,
    }
    app = create_app(config, plugins=plugins)
    with app.app_context():
        db.create_all()
    return app


def _invoke(cli: Any, *args: str) -> Any:
    """Run a ``hub`` command in the conformance app; it must succeed."""
    result = cli.invoke(args=list(args))
    assert result.exit_code == 0, f"hub {' '.join(args[:2])}: exit {result.exit_code}\n{result.output}"
    return result


def _each(option: str, values: list[str]) -> list[str]:
    return [part for value in values for part in (option, value)]


def _cli_value(value: Any) -> str:
    """A setting as ``hub integrations add --set`` takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class _ProviderUnderTest:
    """Installs the harness's provider in the conformance app under a name of its own."""

    def __init__(self, provider: Provider):
        self.provider = _delegate(provider)

    @staticmethod
    def name_for(provider: Provider) -> str:
        return f"conformance-{provider.name}"

    @hookimpl
    def hub_providers(self) -> list[Provider]:
        return [self.provider]


def _delegate(provider: Provider) -> Provider:
    """A provider that behaves exactly as ``provider`` under the name ``conformance-<name>``, without its blackout
    windows: the suite's sync runs on the wall clock, and a window must not refuse it at some hours of the day."""

    class UnderTest(Provider):
        name = _ProviderUnderTest.name_for(provider)
        label = provider.label
        settings_title = provider.settings_title
        settings_form = provider.settings_form

        def check(self, settings: ProviderSettings) -> CheckResult:
            return provider.check(settings)

        def fetch_members(self, settings: ProviderSettings) -> list[RemoteMember]:
            return provider.fetch_members(settings)

        def fetch_attendance(
            self, settings: ProviderSettings, remote_ids: Any, start: date, end: date, progress: Progress
        ) -> Any:
            return provider.fetch_attendance(settings, remote_ids, start, end, progress)

    return UnderTest()
