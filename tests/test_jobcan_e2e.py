"""End to end: the Jobcan simulator as a real server on loopback, and the hub's CLI and engine against it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AttendanceDay, DayState, Integration, Member, SyncRun, TimesheetDay
from hub.records import LeaveKind
from hub_plugins.jobcan.client import TOKENS
from hub_plugins.jobcan.simulator import DayKind, JobcanSimulator, SimulatorConfig
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_app

START, END = date(2026, 11, 2), date(2026, 11, 15)


@pytest.fixture(autouse=True)
def _fresh_tokens():
    TOKENS._tokens.clear()


@pytest.fixture(scope="module")
def sim():
    config = SimulatorConfig(employees=30, start=START - timedelta(days=5), end=END + timedelta(days=5), seed=7)
    with JobcanSimulator(config) as simulator:
        yield simulator


def hub_for(tmp_path, sim, name="本社", **overrides):
    """A hub with a member for every coded employee and one integration added through the CLI."""
    app = make_app(tmp_path, **overrides)
    with app.app_context():
        for employee in sim.data.employees:
            if employee["employee_code"]:
                db.session.add(
                    Member(code=employee["employee_code"], name=f"{employee['last_name']} {employee['first_name']}")
                )
        db.session.commit()
    add_integration(app, sim, name)
    return app


def add_integration(app, sim, name, secret=None, expect=0):
    result = app.test_cli_runner().invoke(
        args=[
            "integrations",
            "add",
            "jobcan",
            name,
            "--set",
            f"client_id={sim.client_id}",
            "--set",
            "client_secret=-",
            "--set",
            "environment=custom",
            "--set",
            f"api_base_url={sim.url}",
            "--set",
            f"auth_base_url={sim.url}",
            "--set",
            "requests_per_second=50",
            "--set",
            "concurrency=8",
        ],
        input=(secret or sim.client_secret) + "\n",
    )
    assert result.exit_code == expect, result.output
    return result


def sync(app, name="本社", start=START, end=END, expect=0) -> dict:
    result = app.test_cli_runner().invoke(
        args=["sync", name, "--from", start.isoformat(), "--to", end.isoformat(), "--json"]
    )
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


def snapshot(app) -> dict:
    with app.app_context():
        days = db.session.scalars(select(AttendanceDay).join(Member).order_by(Member.code, AttendanceDay.work_date))
        return {
            (day.member_id, day.work_date): (
                day.clock_in,
                day.clock_out,
                day.work_minutes,
                day.break_minutes,
                str(day.leave),
                day.leave_name,
                tuple((b.start, b.end) for b in day.breaks),
                tuple((h.start, h.end, h.name) for h in day.hourly_leaves),
            )
            for day in days
        }


def kinds_in_period(sim) -> dict:
    return {key: kind for key, kind in sim.data.day_kinds.items() if START <= key[1] <= END}


def stored(app, employee_id: int, day: date) -> AttendanceDay | None:
    code = next(e["employee_code"] for e in sim_employees(app) if e["id"] == employee_id)
    return db.session.scalar(
        select(AttendanceDay).join(Member).where(Member.code == code, AttendanceDay.work_date == day)
    )


def sim_employees(app):
    return app.config["SIM"].data.employees


def test_full_sync_matches_the_simulated_attendance(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    app.config["SIM"] = sim
    sim.reset_stats()
    report = sync(app)
    coded = {e["id"] for e in sim.data.employees if e["employee_code"]}
    expected = {
        key: kind
        for key, kind in kinds_in_period(sim).items()
        if key[0] in coded and kind not in (DayKind.DAY_OFF, DayKind.ABSENT)
    }
    assert report["status"] == "succeeded"
    assert report["counts"]["created"] == len(expected) == report["counts"]["fetched"]
    assert report["counts"]["unmatched_remote"] == 1 and report["counts"]["unmatched_local"] == 0
    missing = [key for key, kind in expected.items() if kind is DayKind.MISSING_CLOCK_OUT]
    assert report["counts"]["warnings"] == len(missing) > 0

    # Requests: the all-employee endpoints, 100 a page, so they grow with days, not employees × days.
    days = (END - START).days + 1
    assert sim.stats["employees"] == 1
    assert sim.stats["summaries"] == days and sim.stats["adits"] == days
    assert sim.stats["refresh"] == len(coded)  # one range of ≤ 31 days each
    assert sim.stats["summaries_one"] == sim.stats["adits_one"] == 0
    assert report["requests"] == sim.stats["total"]

    with app.app_context():
        by_kind = {}
        for key, kind in expected.items():
            by_kind.setdefault(kind, key)
        night = stored(app, *by_kind[DayKind.NIGHT_SHIFT])
        assert night.clock_in >= 22 * 60 and night.clock_out > 24 * 60  # 30:00 style
        no_out = stored(app, *by_kind[DayKind.MISSING_CLOCK_OUT])
        assert no_out.clock_in is not None and no_out.clock_out is None
        full = stored(app, *by_kind[DayKind.FULL_LEAVE])
        assert full.leave is LeaveKind.FULL and full.clock_in is None and full.leave_name
        assert stored(app, *by_kind[DayKind.AM_LEAVE]).leave is LeaveKind.AM
        assert stored(app, *by_kind[DayKind.PM_LEAVE]).leave is LeaveKind.PM
        hourly = stored(app, *by_kind[DayKind.HOURLY_LEAVE])
        assert [(h.start, h.end) for h in hourly.hourly_leaves] == [(14 * 60, 16 * 60)]
        ordinary_key = by_kind[DayKind.ORDINARY]
        ordinary = stored(app, *ordinary_key)
        summary = sim.data.summaries[ordinary_key]
        assert (ordinary.work_minutes, ordinary.break_minutes) == (summary["work"], summary["break"])
        assert (ordinary.overtime_minutes, ordinary.late_night_minutes) == (summary["over_work"], summary["night_work"])
        assert (ordinary.late_minutes, ordinary.early_leave_minutes) == (None, None)  # Jobcan does not say them
        assert night.late_night_minutes == sim.data.summaries[by_kind[DayKind.NIGHT_SHIFT]]["night_work"] > 0
        assert ordinary.breaks and all(
            ordinary.clock_in < b.start < b.end < ordinary.clock_out for b in ordinary.breaks
        )


def test_identical_resync_writes_nothing_and_a_changed_day_updates_one(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    first = sync(app)
    again = sync(app)
    assert again["counts"]["unchanged"] == first["counts"]["created"]
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["removed"]) == (0, 0, 0)

    employee = next(e for e in sim.data.employees if e["employee_code"])
    day = START + timedelta(days=1)
    original = (sim.data.summaries.get((employee["id"], day)), sim.data.adits.get((employee["id"], day)))
    try:
        sim.set_day(
            employee["id"],
            day,
            {"work": 420, "break": 60, "holiday": None},
            [f"{day}T10:00:00+09:00", f"{day}T12:00:00+09:00", f"{day}T13:00:00+09:00", f"{day}T18:00:00+09:00"],
        )
        changed = sync(app)
        assert (changed["counts"]["created"] + changed["counts"]["updated"], changed["counts"]["removed"]) == (1, 0)
        with app.app_context():
            stored_day = db.session.scalar(
                select(AttendanceDay)
                .join(Member)
                .where(Member.code == employee["employee_code"], AttendanceDay.work_date == day)
            )
            assert (stored_day.clock_in, stored_day.clock_out, stored_day.work_minutes) == (600, 1080, 420)
            assert stored_day.overtime_minutes is None  # the changed summary does not say it

        # Only the overtime changes: the day is updated, nothing else is.
        sim.set_day(
            employee["id"],
            day,
            {"work": 420, "break": 60, "over_work": 30, "holiday": None},
            [f"{day}T10:00:00+09:00", f"{day}T12:00:00+09:00", f"{day}T13:00:00+09:00", f"{day}T18:00:00+09:00"],
        )
        overtime = sync(app)
        assert (overtime["counts"]["created"], overtime["counts"]["updated"], overtime["counts"]["removed"]) == (
            0,
            1,
            0,
        )
        with app.app_context():
            stored_day = db.session.scalar(
                select(AttendanceDay)
                .join(Member)
                .where(Member.code == employee["employee_code"], AttendanceDay.work_date == day)
            )
            assert (stored_day.overtime_minutes, stored_day.late_night_minutes) == (30, None)
    finally:
        summary, adits = original
        sim.set_day(employee["id"], day, summary, [a["recorded_at"] for a in adits] if adits else None)


def test_faults_still_give_the_right_data(tmp_path, sim):
    clean = hub_for(tmp_path / "clean", sim)
    sync(clean)
    faulty = hub_for(tmp_path / "faulty", sim)
    sim.fail_next(2, status=429, retry_after=1, endpoint="summaries")
    sim.fail_next(1, status=429, endpoint="adits")  # no Retry-After: backoff with jitter
    sim.fail_next(1, status=500, endpoint="employees")
    sim.fail_next(1, status=503, endpoint="refresh")
    report = sync(faulty)
    sim.expire_tokens()  # the cached token now answers 401: fetched again once, transparently
    TOKENS._tokens.clear()
    assert report["status"] == "succeeded"
    assert snapshot(faulty) == snapshot(clean)
    sim.expire_tokens()
    again = sync(faulty)
    assert again["counts"]["unchanged"] == report["counts"]["created"]


def test_token_expiry_during_a_run(tmp_path):
    config = SimulatorConfig(employees=5, start=START, end=END, seed=3, token_lifetime=1, latency_ms=150)
    with JobcanSimulator(config) as sim:
        app = hub_for(tmp_path, sim)
        report = sync(app, start=START, end=START + timedelta(days=9))
        assert report["status"] == "succeeded"
        assert sim.stats["token"] >= 2  # the first token expired mid-run and was replaced


def test_a_failure_mid_fetch_changes_nothing(tmp_path, sim):
    app = hub_for(tmp_path, sim, HUB_SYNC_STALL_SECONDS=2)  # retried for 2 s without success, then failed
    sync(app)
    before = snapshot(app)
    employee = next(e for e in sim.data.employees if e["employee_code"])
    original = (sim.data.summaries.get((employee["id"], START)), sim.data.adits.get((employee["id"], START)))
    sim.set_day(employee["id"], START, None, None)  # would be removed by a complete sync
    try:
        sim.fail_next(10_000, status=500, endpoint="adits")  # summaries succeed, punches keep failing
        report = sync(app, expect=1)
        assert report["status"] == "failed" and "500" in report["error"]
        assert snapshot(app) == before
    finally:
        sim.clear_faults()
        summary, adits = original
        sim.set_day(employee["id"], START, summary, [a["recorded_at"] for a in adits] if adits else None)


def test_locked_days_are_untouched(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    sync(app)
    with app.app_context():
        first_day = db.session.scalar(select(AttendanceDay).order_by(AttendanceDay.id))
        day_id = first_day.id
        db.session.add(
            TimesheetDay(member_id=first_day.member_id, work_date=first_day.work_date, state=DayState.APPROVED)
        )
        first_day.clock_in = 1  # an admin's correction on an approved day
        db.session.commit()
    report = sync(app)
    assert report["counts"]["skipped_locked"] == 1 and report["counts"]["updated"] == 0
    with app.app_context():
        assert db.session.get(AttendanceDay, day_id).clock_in == 1


def test_two_integrations_matching_one_member(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    sync(app)
    add_integration(app, sim, "支社")
    report = sync(app, "支社")
    conflicts = [issue for issue in report["issues"] if issue["kind"] == "conflict"]
    assert len(conflicts) == 29 and report["counts"]["warnings"] >= 29
    assert "本社" in conflicts[0]["message"]
    with app.app_context():
        branch = db.session.scalar(select(Integration.id).where(Integration.name == "支社"))
        assert set(db.session.scalars(select(AttendanceDay.integration_id))) == {branch}


def test_two_integrations_with_a_priority_each_keep_to_their_own_days(tmp_path, sim):
    """Issue 12: with 支社 given the higher 優先度 on the command line, its sync takes the days over once (the
    conflict reported once) and 本社's auto syncs from then on skip them without writing or warning."""
    app = hub_for(tmp_path, sim)
    sync(app)
    add_integration(app, sim, "支社")
    result = app.test_cli_runner().invoke(args=["integrations", "edit", "支社", "--priority", "１"])
    assert result.exit_code == 0, result.output
    takeover = sync(app, "支社")
    assert len([issue for issue in takeover["issues"] if issue["kind"] == "conflict"]) == 29
    before = snapshot(app)
    for name in ("本社", "支社", "本社"):
        report = sync(app, name)
        assert report["counts"]["updated"] == report["counts"]["created"] == 0
        assert not [issue for issue in report["issues"] if issue["kind"] == "conflict"]
        if name == "本社":
            assert report["counts"]["skipped_other_source"] == report["counts"]["fetched"] > 0
            assert report["counts"]["warnings"] == 0  # only the simulator's employees without a member remain
            assert {issue["kind"] for issue in report["issues"]} <= {"unmatched_remote", "unmatched_local"}
    assert snapshot(app) == before


def test_adding_with_a_wrong_secret_saves_nothing(tmp_path, sim):
    app = make_app(tmp_path)
    result = add_integration(app, sim, "本社", secret="wrong", expect=1)
    assert "ID or secret access key" in result.stderr and "wrong" not in result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count(Integration.id))) == 0


def test_check_names_each_missing_scope(tmp_path):
    config = SimulatorConfig(employees=3, start=START, end=START, granted_scopes=("employees.read", "summaries.read"))
    with JobcanSimulator(config) as sim:
        app = make_app(tmp_path)
        result = add_integration(app, sim, "本社", expect=1)
    assert "summaries.create, adits.read" in result.stderr


def test_check_reports_an_unreachable_server(tmp_path, sim):
    app = make_app(tmp_path)
    result = app.test_cli_runner().invoke(
        args=[
            "integrations",
            "add",
            "jobcan",
            "本社",
            "--set",
            "client_id=x",
            "--set",
            "client_secret=y",
            "--set",
            "environment=custom",
            "--set",
            "api_base_url=http://127.0.0.1:9",
            "--set",
            "auth_base_url=http://127.0.0.1:9",
        ]
    )
    assert result.exit_code == 1 and "could not be reached" in result.stderr


def test_refresh_polls_while_jobcan_is_processing(tmp_path):
    config = SimulatorConfig(employees=4, start=START, end=START + timedelta(days=2), seed=5, refresh_polls=2)
    with JobcanSimulator(config) as sim:
        app = hub_for(tmp_path, sim)
        sim.reset_stats()  # adding the integration probed summaries.create once
        report = sync(app, start=START, end=START + timedelta(days=2))
    assert report["status"] == "succeeded"
    assert sim.stats["refresh"] == 3 * 3  # 3 coded employees × (2 × processing + finished)


def test_runs_are_recorded_with_requests_and_duration(tmp_path, sim):
    app = hub_for(tmp_path, sim)
    report = sync(app)
    with app.app_context():
        run = db.session.get(SyncRun, report["run_id"])
        assert run.requests == report["requests"] > 0 and report["duration_s"] > 0
        assert run.progress_percent == 100 and run.heartbeat_at is not None


def test_connect_in_the_browser_form_and_sync_from_attendance(tmp_path, sim):
    from tests.conftest import create_test_admin

    app = make_app(tmp_path)
    create_test_admin(app)
    with app.app_context():
        for employee in sim.data.employees[:5]:
            if employee["employee_code"]:
                db.session.add(Member(code=employee["employee_code"], name=employee["last_name"]))
        db.session.commit()
    web = app.test_client()
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    form = web.get("/admin/integrations/new/jobcan?lang=ja").get_data(as_text=True)
    for label in ("連携名", "ID", "シークレットアクセスキー", "自動同期", "使用する", "使用しない"):
        assert label in form
    data = {
        "name": "テスト",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "environment": "custom",
        "api_base_url": sim.url,
        "auth_base_url": sim.url,
        "refresh_summaries": "y",
        "requests_per_second": "50",
        "concurrency": "4",
        "auto_sync": "on",
    }
    missing_urls = web.post("/admin/integrations/new/jobcan", data=dict(data, api_base_url=""))
    assert 'id="api_base_url-error"' in missing_urls.get_data(as_text=True)
    page = web.post("/admin/integrations/new/jobcan", data=data, follow_redirects=True).get_data(as_text=True)
    assert "ジョブカン設定(テスト)と連携しました。" in page
    assert "管理メニュー内「勤怠」画面より勤怠の同期が行なえます。" in page
    assert sim.client_secret not in page
    with app.app_context():
        integration_id = db.session.scalar(select(Integration.id))
    location = web.post(
        "/admin/attendance/", data={"integration": integration_id, "start": START.isoformat(), "end": END.isoformat()}
    ).headers["Location"]
    result = web.get(location).get_data(as_text=True)
    assert "成功" in result and "退勤打刻なし" in result  # status and the missing clock-out warnings
    with app.app_context():
        assert db.session.scalar(select(func.count(AttendanceDay.id))) > 0


def test_a_resync_with_an_unknown_leave_type_rejects_that_day_and_keeps_every_other(tmp_path, monkeypatch):
    config = SimulatorConfig(employees=8, start=START, end=START + timedelta(days=6), seed=3)
    with JobcanSimulator(config) as own:
        app = hub_for(tmp_path, own)
        first = sync(app, start=START, end=START + timedelta(days=6))
        assert first["status"] == "succeeded" and first["counts"]["created"] > 0
        before = snapshot(app)
        (employee_id, day), _kind = next(
            (key, kind) for key, kind in sorted(own.data.day_kinds.items()) if kind is DayKind.ORDINARY
        )
        code = own.data.employee(employee_id)["employee_code"]
        own.set_day(
            employee_id,
            day,
            {"work": 480, "break": 60, "holiday": {"type": "sabbatical", "name": "サバティカル"}},
            [f"{day}T09:00:00+09:00", f"{day}T18:00:00+09:00"],
        )

        monkeypatch.setenv("HUB_LANGUAGE", "ja")  # the admin reads Japanese; the provider maps in worker threads
        again = sync(app, start=START, end=START + timedelta(days=6))  # exit 0

    assert again["status"] == "partial"
    counts = again["counts"]
    assert (counts["rejected"], counts["created"], counts["updated"], counts["removed"]) == (1, 0, 0, 0)
    assert counts["unchanged"] == first["counts"]["created"] - 1
    [issue] = [issue for issue in again["issues"] if issue["kind"] == "rejected"]
    assert (issue["employee_code"], issue["date"]) == (code, day.isoformat())
    assert issue["message"] == '保存しませんでした: 不明な休暇の種類(holiday.type: "sabbatical")。'
    assert snapshot(app) == before  # the rejected day keeps what was stored; every other day is unchanged


def test_a_stormy_jobcan_is_synced_and_the_run_shows_its_pace(tmp_path, admin_factory):
    """15 % of answers 429 (Retry-After 1) and 10 % 5xx: the run succeeds with the clean data, records its 429s
    and achieved rate (page and JSON), and the integration remembers the rate it learned for the next run."""
    days = START + timedelta(days=4)
    clean_config = SimulatorConfig(employees=8, start=START, end=END, seed=5)
    stormy_config = SimulatorConfig(
        employees=8, start=START, end=END, seed=5, rate_429=0.15, retry_after=1, rate_5xx=0.1
    )
    with JobcanSimulator(clean_config) as clean_sim, JobcanSimulator(stormy_config) as stormy_sim:
        clean = hub_for(tmp_path / "clean", clean_sim)
        sync(clean, end=days)
        stormy = hub_for(tmp_path / "stormy", stormy_sim)
        report = sync(stormy, end=days)
    assert report["status"] == "succeeded" and snapshot(stormy) == snapshot(clean)
    assert report["throttled"] > 0 and report["achieved_rate"] > 0
    with stormy.app_context():
        integration = db.session.scalar(select(Integration))
        assert integration.learned_rate is not None
    admin_factory(stormy)
    client = stormy.test_client()
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    page = client.get(f"/admin/attendance/runs/{report['run_id']}?lang=en").get_data(as_text=True)
    assert f'{report["throttled"]} answered "too many requests" (429)' in page.replace("&#34;", '"')
    assert f"{report['achieved_rate']:.1f} requests a second" in page
