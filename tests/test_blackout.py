"""Blackout windows: the hours a provider refuses calls. No sync starts inside one (web, CLI), the auto sync waits
for its end, and a run that reaches one stops, changing nothing. The clock is injected (``hub.sync.blackout``'s)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hub.blackout import BlackoutWindow, next_allowed, window_at
from hub.extensions import db
from hub.integrations.service import provider_named, save_integration
from hub.models import AttendanceDay, Health, Integration, Member, RunStatus, SyncRun, Trigger
from hub.providers import ProviderError, ProviderSettings
from hub.records import RemoteMember
from hub.settings.service import company_timezone, current_settings
from hub.sync import blackout
from hub.sync.engine import execute_run, run_sync
from hub.sync.lifecycle import SyncBlackout, start_run
from hub.sync.schedule import tick
from hub.testing import ProviderConformance
from tests.conftest import create_test_admin, make_app
from tests.fake_provider import FakeHR, FakePlugin, FakeProvider

TOKYO = ZoneInfo("Asia/Tokyo")
#: KING OF TIME's restricted hours (docs: /work/shared/kingoftime-api.md).
KING_OF_TIME = (BlackoutWindow(time(8, 30), time(10), TOKYO), BlackoutWindow(time(17, 30), time(18, 30), TOKYO))
D1 = date(2026, 11, 2)
REFUSED = "Fake HR refuses API calls from 08:30 to 10:00 (JST); sync after 10:00."
STOPPED = (
    "The sync stopped: Fake HR refuses API calls from 08:30 to 10:00 (JST). Nothing was changed; sync again after "
    "10:00."
)


def at_jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


class Clock:
    """The time the sync's blackout checks read; a test moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(at_jst(D1, 12))
    monkeypatch.setattr(blackout, "utcnow", clock)
    return clock


@pytest.fixture
def hr():
    hr = FakeHR(employees=[RemoteMember("10", "P1001", "工数 太郎")], blackouts=KING_OF_TIME)
    hr.day("10", D1)
    return hr


@pytest.fixture
def app(tmp_path, hr):
    app = make_app(tmp_path, plugins=[FakePlugin(hr)])
    create_test_admin(app)
    with app.app_context():
        db.session.add(Member(code="P1001", name="工数 太郎", start_date=date(2020, 1, 1)))
        integration = save_integration(provider_named("fakehr"), "本社", {"token": "good"}, auto_sync=True)
        integration.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
    with app.app_context():
        yield app


def integration() -> Integration:
    return db.session.scalar(select(Integration).where(Integration.name == "本社"))


def runs() -> int:
    return db.session.scalar(select(func.count(SyncRun.id)))


# --- the windows themselves ---------------------------------------------------------------------------


def test_a_window_is_read_on_the_providers_clock_whatever_the_zone_of_now():
    assert window_at(KING_OF_TIME, at_jst(D1, 8, 29)) is None
    assert window_at(KING_OF_TIME, at_jst(D1, 8, 30)) is KING_OF_TIME[0]
    assert window_at(KING_OF_TIME, datetime(2026, 11, 2, 0, 59, tzinfo=UTC)) is KING_OF_TIME[0]  # 09:59 JST
    assert window_at(KING_OF_TIME, at_jst(D1, 10)) is None  # the end is allowed
    assert window_at(KING_OF_TIME, at_jst(D1, 18, 29)) is KING_OF_TIME[1]


def test_next_allowed_is_now_outside_and_the_windows_end_inside():
    assert next_allowed(KING_OF_TIME, at_jst(D1, 7)) == at_jst(D1, 7)
    assert next_allowed(KING_OF_TIME, datetime(2026, 11, 1, 23, 45, tzinfo=UTC)) == at_jst(D1, 10)
    adjacent = (*KING_OF_TIME, BlackoutWindow(time(10), time(10, 15), TOKYO))  # one window ends where one begins
    assert next_allowed(adjacent, at_jst(D1, 9)) == at_jst(D1, 10, 15)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ((time(10), time(8, 30), TOKYO), ValueError),  # reversed: across midnight is two windows
        ((time(8, 30), time(8, 30), TOKYO), ValueError),
        ((time(8, 30), time(10), "Asia/Tokyo"), TypeError),
        ((time(8, 30, tzinfo=UTC), time(10), TOKYO), TypeError),
    ],
)
def test_a_malformed_window_is_refused_when_declared(arguments, error):
    with pytest.raises(error):
        BlackoutWindow(*arguments)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        window_at(KING_OF_TIME, datetime(2026, 11, 2, 9))


# --- no start inside a window ----------------------------------------------------------------------------


def test_a_start_inside_a_window_is_refused_and_outside_allowed(app):
    with pytest.raises(SyncBlackout) as refused:
        start_run(integration(), D1, D1, Trigger.CLI, now=at_jst(D1, 9, 15))
    assert str(refused.value) == REFUSED
    assert runs() == 0
    assert start_run(integration(), D1, D1, Trigger.CLI, now=at_jst(D1, 10)).status is RunStatus.RUNNING


def test_windows_are_the_providers_whatever_the_company_time_zone(app, clock):
    current_settings().timezone = "Europe/Berlin"
    db.session.commit()
    assert company_timezone() == "Europe/Berlin"
    clock.now = datetime(2026, 11, 2, 1, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 09:00 in Tokyo
    with pytest.raises(SyncBlackout, match="08:30 to 10:00 \\(JST\\)"):
        start_run(integration(), D1, D1, Trigger.CLI)


def test_cli_sync_inside_a_window_exits_3_with_the_message(app, clock):
    clock.now = at_jst(D1, 9, 15)
    cli = app.test_cli_runner()
    for extra in ([], ["--enqueue"]):
        result = cli.invoke(args=["sync", "本社", "--from", "2026-11-02", "--to", "2026-11-02", *extra])
        assert result.exit_code == 3, result.output
        assert REFUSED in result.stderr
    assert runs() == 0
    clock.now = at_jst(D1, 10)
    result = cli.invoke(args=["sync", "本社", "--from", "2026-11-02", "--to", "2026-11-02"])
    assert result.exit_code == 0, result.output


def test_the_sync_page_refuses_inside_a_window_in_the_admins_language(app, clock):
    clock.now = at_jst(D1, 17, 45)
    web = app.test_client()
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    form = {"integration": integration().id, "start": "2026-11-02", "end": "2026-11-02"}

    def post(path: str = "/admin/attendance/"):
        with app.app_context():  # a request context of its own: the test's would keep the first page's language
            return web.post(path, data=form)

    assert "Fake HR refuses API calls from 17:30 to 18:30 (JST); sync after 18:30." in post().get_data(as_text=True)
    page = post("/admin/attendance/?lang=ja").get_data(as_text=True)
    assert "Fake HR は 17:30〜18:30 (JST) の間 API を受け付けません。18:30 以降に同期してください。" in page
    assert runs() == 0
    clock.now = at_jst(D1, 18, 30)
    assert post().status_code == 302
    assert runs() == 1


# --- the auto sync waits for the window's end ---------------------------------------------------------


def test_an_auto_sync_slot_inside_a_window_runs_once_at_its_end(app, hr):
    hr.blackouts = (BlackoutWindow(time(4, 30), time(6), TOKYO),)
    assert tick(now=at_jst(D1, 5)) == []
    assert tick(now=at_jst(D1, 5, 59)) == []
    [run_id] = tick(now=at_jst(D1, 6))
    assert tick(now=at_jst(D1, 6, 1)) == []
    run = db.session.get(SyncRun, run_id)
    assert (run.trigger, run.status, run.period_end) == (Trigger.AUTO, RunStatus.SUCCEEDED, D1)
    assert runs() == 1


# --- a run that reaches a window stops --------------------------------------------------------------


def test_a_run_reaching_a_window_stops_and_changes_nothing(app, hr, clock, monkeypatch):
    clock.now = at_jst(D1, 8)
    assert run_sync(integration(), D1, D1).status is RunStatus.SUCCEEDED
    hr.day("10", D1, clock_in=600)  # changed in the HR system since
    fetch = FakeProvider.fetch_attendance

    def fetch_into_the_window(self, *args):
        clock.now = at_jst(D1, 8, 30)  # the window begins while the provider works
        return fetch(self, *args)

    monkeypatch.setattr(FakeProvider, "fetch_attendance", fetch_into_the_window)
    clock.now = at_jst(D1, 8, 29)
    run = run_sync(integration(), D1, D1)
    assert (run.status, run.error, run.requests) == (RunStatus.FAILED, STOPPED, 3)  # stopped at the first step
    assert db.session.scalars(select(AttendanceDay.clock_in)).all() == [540]
    assert integration().health is Health.OK  # nothing is wrong with it: it only has to wait


def test_a_run_queued_before_a_window_and_picked_up_inside_stops_before_any_call(app, hr, clock):
    clock.now = at_jst(D1, 8, 29)
    run = start_run(integration(), D1, D1, Trigger.MANUAL, queued=True)
    clock.now = at_jst(D1, 8, 31)
    run = execute_run(run.id)
    assert (run.status, run.error, hr.calls) == (RunStatus.FAILED, STOPPED, 0)
    assert db.session.scalar(select(func.count(AttendanceDay.id))) == 0


def test_a_call_refused_because_a_window_began_says_so(app, hr, clock, monkeypatch):
    def refused_in_the_window(self, *args):
        clock.now = at_jst(D1, 8, 30)
        raise ProviderError("Fake HR answered 403 (code 104).")

    monkeypatch.setattr(FakeProvider, "fetch_attendance", refused_in_the_window)
    clock.now = at_jst(D1, 8, 29)
    run = run_sync(integration(), D1, D1)
    assert (run.status, run.error) == (RunStatus.FAILED, STOPPED)
    assert integration().health is Health.OK


# --- the conformance case ---------------------------------------------------------------------------


class _NaiveZone(tzinfo):
    """A tzinfo without an offset: times on it are naive."""

    def utcoffset(self, moment):
        return None


class _Harness:
    def __init__(self, windows):
        hr = FakeHR(blackouts=windows)
        self.provider = FakeProvider(hr)

    def valid_settings(self) -> ProviderSettings:
        return ProviderSettings(key="fake", values={"token": "good"})


def test_the_conformance_case_accepts_declared_windows():
    ProviderConformance().test_blackout_windows_are_well_formed(_Harness(KING_OF_TIME))
    ProviderConformance().test_blackout_windows_are_well_formed(_Harness(()))


@pytest.mark.parametrize(
    "windows",
    [
        (window for window in KING_OF_TIME),  # a generator is read once
        ((time(8, 30), time(10), TOKYO),),  # not a BlackoutWindow
        (BlackoutWindow(time(0), time(12), TOKYO), BlackoutWindow(time(12), time(23, 59), TOKYO)),  # all day
        (BlackoutWindow(time(8, 30), time(10), _NaiveZone()),),
    ],
    ids=["generator", "tuple", "all-day", "naive-zone"],
)
def test_the_conformance_case_refuses_malformed_windows(windows):
    with pytest.raises(AssertionError):
        ProviderConformance().test_blackout_windows_are_well_formed(_Harness(windows))
