"""End to end: the KING OF TIME simulator as a real server on loopback, and the hub's CLI and engine against it.

Over 300 lines: each journey needs the same hub, integration and stored-day helpers, kept in one module.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub import hookimpl
from hub.extensions import db
from hub.models import AttendanceDay, Integration, Member
from hub.records import LeaveKind
from hub.sync import blackout
from hub_plugins.kingoftime.provider import KingOfTimeProvider
from hub_plugins.kingoftime.simulator import JST, DayKind, KingOfTimeSimulator, SimulatorConfig
from tests.conftest import make_app

START, END = date(2026, 11, 2), date(2026, 11, 15)
NOON_IN_TOKYO = datetime(2026, 12, 1, 3, tzinfo=UTC)
NINE_IN_TOKYO = datetime(2026, 12, 1, 0, tzinfo=UTC)
#: Kinds of day that are day records: the rest (no record, all zeros) are not fetched, not counted.
DAYS = {
    DayKind.ORDINARY,
    DayKind.NIGHT_SHIFT,
    DayKind.MISSING_CLOCK_OUT,
    DayKind.FULL_LEAVE,
    DayKind.AM_LEAVE,
    DayKind.PM_LEAVE,
    DayKind.HOURLY_LEAVE,
    DayKind.MINUTES_ONLY,
}


@pytest.fixture(autouse=True)
def _hub_clock_at_noon_in_tokyo(monkeypatch):
    """The hub's own blackout check reads this clock: outside KING OF TIME's restricted hours."""
    monkeypatch.setattr(blackout, "utcnow", lambda: NOON_IN_TOKYO)


@pytest.fixture(scope="module")
def sim():
    config = SimulatorConfig(employees=30, start=START - timedelta(days=5), end=END + timedelta(days=5), seed=7)
    with KingOfTimeSimulator(config) as simulator:
        yield simulator


class KingOfTimeAtNoon:
    """The plugin's provider on a clock at noon in Tokyo, so its connection check reads the API whenever the suite
    runs (inside the restricted hours it would verify only the token)."""

    @hookimpl
    def hub_providers(self):
        return [KingOfTimeProvider(now=lambda: NOON_IN_TOKYO)]


def hub(tmp_path):
    return make_app(tmp_path, plugins=[KingOfTimeAtNoon()], HUB_BLOCKED_PLUGINS=["kingoftime"])


def hub_for(tmp_path, sim, name="本社"):
    """A hub with a member for every employee and one integration added through the CLI."""
    app = hub(tmp_path)
    with app.app_context():
        for employee in sim.data.employees:
            db.session.add(Member(code=employee["code"], name=f"{employee['lastName']} {employee['firstName']}"))
        db.session.commit()
    add_integration(app, sim, name)
    return app


def add_integration(app, sim, name, token=None, expect=0):
    settings = ["environment=custom", f"api_base_url={sim.url}", "requests_per_second=50", "access_token=-"]
    args = ["integrations", "add", "kingoftime", name, *[part for s in settings for part in ("--set", s)]]
    result = app.test_cli_runner().invoke(args=args, input=(token or sim.access_token) + "\n")
    assert result.exit_code == expect, result.output
    return result


def sync(app, name="本社", start=START, end=END, expect=0) -> dict:
    result = app.test_cli_runner().invoke(
        args=["sync", name, "--from", start.isoformat(), "--to", end.isoformat(), "--json"]
    )
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


def stored(app) -> dict:
    """Every stored day by (employee code, work date)."""
    with app.app_context():
        rows = db.session.execute(
            select(Member.code, AttendanceDay).join(Member).order_by(Member.code, AttendanceDay.work_date)
        )
        return {
            (code, day.work_date): (
                day.clock_in,
                day.clock_out,
                day.work_minutes,
                day.break_minutes,
                day.leave,
                day.leave_name,
                tuple((b.start, b.end) for b in day.breaks),
                tuple((h.start, h.end, h.name) for h in day.hourly_leaves),
            )
            for code, day in rows
        }


def minute(day: date, stamp: str) -> int:
    """Minutes of a simulator timestamp from the work date's midnight in Tokyo."""
    return (
        int((datetime.fromisoformat(stamp) - datetime(day.year, day.month, day.day, tzinfo=JST)).total_seconds()) // 60
    )


def expected(sim) -> dict:
    """What the hub should hold after a full sync, read straight from the simulator's data."""
    codes = {employee["key"]: employee["code"] for employee in sim.data.employees}
    days = {}
    for (key, day), kind in sim.data.day_kinds.items():
        if not START <= day <= END or kind not in DAYS:
            continue
        working = sim.data.daily_workings[(key, day)]
        punches = sorted((minute(day, p["time"]), p["code"]) for p in sim.data.time_records.get((key, day), []))
        starts = [m for m, code in punches if code == "3"]
        ends = [m for m, code in punches if code == "4"]
        holidays = working["holidaysObtained"]
        leave, leave_name = LeaveKind.NONE, None
        if "fulltimeHoliday" in holidays:
            leave, leave_name = LeaveKind.FULL, holidays["fulltimeHoliday"]["name"]
        elif holidays["halfdayHolidays"]:
            half = holidays["halfdayHolidays"][0]
            leave, leave_name = {"AM休": LeaveKind.AM, "PM休": LeaveKind.PM}[half["typeName"]], half["name"]
        days[(codes[key], day)] = (
            next((m for m, code in punches if code == "1"), None),
            max((m for m, code in punches if code == "2"), default=None),
            working["totalWork"],
            working["breakTime"],
            leave,
            leave_name,
            tuple(zip(starts, ends, strict=True)),
            tuple((minute(day, h["start"]), minute(day, h["end"]), h["name"]) for h in holidays["hourHolidays"]),
        )
    return days


def test_a_full_sync_equals_the_simulators_data_in_three_requests(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    sim.reset_stats()
    report = sync(app)
    want = expected(sim)
    assert report["status"] == "succeeded", report
    assert report["counts"]["created"] == report["counts"]["fetched"] == len(want)
    # The member of the employee who retired before the period is the only one unmatched: the core's matching
    # leaves that employee out.
    retired = [e for e in sim.data.employees if e.get("resignationDate", "9999") < START.isoformat()]
    assert (report["counts"]["unmatched_remote"], report["counts"]["unmatched_local"]) == (0, len(retired)) == (0, 1)
    kinds = {kind for (key, day), kind in sim.data.day_kinds.items() if START <= day <= END}
    assert kinds >= DAYS, "the period should hold every kind of day"
    missing = [(key, day) for (key, day), kind in sim.data.day_kinds.items() if kind is DayKind.MISSING_CLOCK_OUT]
    assert report["counts"]["warnings"] == len([day for _, day in missing if START <= day <= END]) > 0

    assert (sim.stats["total"], sim.stats["employees"], sim.stats["daily_workings"], sim.stats["timerecord"]) == (
        3,
        1,
        1,
        1,
    )
    assert report["requests"] == 3

    got = stored(app)
    assert got.keys() == want.keys()
    for key, (clock_in, clock_out, work, brk, *rest) in want.items():
        held = got[key]
        assert (held[0], held[1], *held[4:]) == (clock_in, clock_out, *rest), key
        if clock_out is not None or clock_in is None:  # a missing clock-out's minutes are the core's to judge
            assert (held[2], held[3]) == (work, brk), key
    nights = [key for key, value in want.items() if value[1] is not None and value[1] > 24 * 60]
    assert nights and all(got[key][1] == 30 * 60 for key in nights)  # 22:00 → 30:00 on the work date


def test_an_identical_resync_writes_nothing(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    first = sync(app)
    again = sync(app)
    assert again["counts"]["unchanged"] == first["counts"]["created"]
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["removed"]) == (0, 0, 0)


def test_a_renamed_code_with_the_same_key_keeps_the_days(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    sync(app)
    before = stored(app)
    employee = sim.data.employees[0]
    old_code, key = employee["code"], employee["key"]
    with app.app_context():  # the admin renames the member to match, as KING OF TIME's code was edited
        member = db.session.scalar(select(Member).where(Member.code == old_code))
        member.code = "9001"
        db.session.commit()
    sim.rename_code(key, "9001")
    try:
        again = sync(app)
    finally:
        sim.rename_code(key, old_code)
    assert again["status"] == "succeeded", again
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["removed"]) == (0, 0, 0)
    after = stored(app)
    assert {(("9001" if code == old_code else code), day): value for (code, day), value in before.items()} == after


def test_restricted_hours_refuse_the_sync_and_change_nothing(tmp_path, sim, monkeypatch):
    app = hub_for(tmp_path, sim)
    sync(app)
    before = stored(app)
    with app.app_context():
        rows = db.session.scalar(select(func.count(AttendanceDay.id)))

    # The hub's clock inside the window: the sync is not started at all (exit 3, try later).
    monkeypatch.setattr(blackout, "utcnow", lambda: NINE_IN_TOKYO)
    refused = app.test_cli_runner().invoke(args=["sync", "本社", "--from", START.isoformat(), "--to", END.isoformat()])
    assert refused.exit_code == 3 and "10:00" in refused.output

    # The hub's clock outside it, KING OF TIME's inside (clocks disagree by a minute): KING OF TIME refuses
    # (403 code 104), the run fails with the hub's own message and writes nothing.
    monkeypatch.setattr(blackout, "utcnow", lambda: NOON_IN_TOKYO)
    sim.set_now(datetime(2026, 12, 1, 9, 0))
    try:
        report = sync(app, expect=1)
    finally:
        sim.set_now(None)
    assert report["status"] == "failed" and "08:30" in report["error"], report
    assert stored(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count(AttendanceDay.id))) == rows


def test_a_throttled_and_failing_kingoftime_still_gives_the_same_data(tmp_path, sim):
    clean = hub_for(tmp_path / "clean", sim)
    sync(clean)
    faulty = hub_for(tmp_path / "faulty", sim)
    sim.config.throttle_shape = "body303"
    try:
        sim.fail_next(1, "throttled", endpoint="employees")
        sim.fail_next(1, "server_error", endpoint="daily_workings")
        report = sync(faulty)
        sim.config.throttle_shape = "http429"
        sim.fail_next(2, "throttled", endpoint="timerecord")
        again = sync(faulty)
    finally:
        sim.config.throttle_shape = "http429"
        sim.clear_faults()
    assert report["status"] == "succeeded" and report["throttled"] >= 1
    assert stored(faulty) == stored(clean)
    assert again["counts"]["unchanged"] == report["counts"]["created"]


def test_adding_with_a_wrong_token_saves_nothing_and_shows_no_token(tmp_path, sim):
    app = hub(tmp_path)
    result = add_integration(app, sim, "本社", token="wrong-token-42", expect=1)
    assert "code 100" in result.stderr and "wrong-token-42" not in result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count(Integration.id))) == 0


def test_adding_from_an_address_not_allowed_names_it(tmp_path, sim):
    app = hub(tmp_path)
    sim.refuse_address(True)
    try:
        result = add_integration(app, sim, "本社", expect=1)
    finally:
        sim.refuse_address(False)
    assert "IP address" in result.stderr


def test_the_simulator_command_is_offered(tmp_path):
    result = make_app(tmp_path).test_cli_runner().invoke(args=["kingoftime", "simulator", "--help"])
    assert result.exit_code == 0 and "--employees" in result.output


def test_connect_in_the_browser_form_in_japanese(tmp_path, sim):
    from tests.conftest import create_test_admin

    app = hub(tmp_path)
    create_test_admin(app)
    web = app.test_client()
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    form = web.get("/admin/integrations/new/kingoftime?lang=ja").get_data(as_text=True)
    for label in (
        "連携名",
        "アクセストークン",
        "環境",
        "本番",
        "カスタムURL",
        "1秒あたりの最大リクエスト数",
        "自動同期",
    ):
        assert label in form, label
    data = {
        "name": "テスト",
        "access_token": sim.access_token,
        "environment": "custom",
        "api_base_url": sim.url,
        "requests_per_second": "",
    }
    missing_url = web.post("/admin/integrations/new/kingoftime?lang=ja", data=dict(data, api_base_url=""))
    assert "カスタムURLの場合はAPIベースURLを入力してください。" in missing_url.get_data(as_text=True)
    page = web.post("/admin/integrations/new/kingoftime?lang=ja", data=data, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "KING OF TIME設定(テスト)と連携しました。" in text and sim.access_token not in text


def test_an_employee_retired_before_the_period_is_not_unmatched(tmp_path, sim):
    """The core's matching leaves out an employee whose RemoteMember.retired_on is before the period."""
    retired = [e for e in sim.data.employees if e.get("resignationDate", "9999") < START.isoformat()]
    assert len(retired) == 1
    app = hub(tmp_path)
    with app.app_context():
        for employee in sim.data.employees:
            if employee not in retired:
                db.session.add(Member(code=employee["code"], name=employee["lastName"]))
        db.session.commit()
    add_integration(app, sim, "本社")
    assert sync(app)["counts"]["unmatched_remote"] == 0
