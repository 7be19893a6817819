"""The whole journey in a real browser: Debian's Chromium, driven by Playwright, against the hub and the
Jobcan simulator on loopback — log in, edit a setting, import members, connect Jobcan, sync, find the △ on
a timesheet, add a project and book 工数 to make it ✓, and export the CSV.

Every step leaves a full-page screenshot in ``test-artifacts/journey/``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from hub.extensions import db
from hub.forms import format_duration, format_hhmm
from hub.models import AttendanceDay, Member, Project, SyncRun, TimeEntry
from hub.settings.service import current_settings
from hub_plugins.csv_export.catalog import catalog as csv_catalog
from hub_plugins.jobcan.client import TOKENS
from hub_plugins.jobcan.simulator import DayKind, JobcanSimulator, SimulatorConfig
from tests.browser import CHROMIUM_ARGS, Screenshots, chromium_or_skip, japanese, live_server
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_test_admin, make_app

pytestmark = pytest.mark.slow

START, END = date(2026, 10, 1), date(2026, 10, 31)
MONTH = "2026-10"
INTEGRATION = "本社"
DEPARTMENT = "開発部"
PROJECT_CODE, PROJECT_NAME = "PJ-001", "社内システム開発"
TIMEOUT = 20_000  # milliseconds for each wait on the page


@pytest.fixture
def sim():
    config = SimulatorConfig(employees=5, start=START, end=END, seed=3)
    with JobcanSimulator(config) as simulator:
        yield simulator


@pytest.fixture
def hub_app(tmp_path):
    """The hub as the browser sees it: CSRF on, syncs run inline in the request that starts them."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, HUB_QUEUE_IMMEDIATE=True)
    create_test_admin(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def page():
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(TIMEOUT)
        expect.set_options(timeout=TIMEOUT)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_the_whole_journey_in_chromium(hub_app, sim, page):
    TOKENS._tokens.clear()
    shots = Screenshots("journey")

    def ja(message: str, **variables) -> str:
        return japanese(hub_app, message, **variables)

    employees = [e for e in sim.data.employees if e["employee_code"]]
    with live_server(hub_app) as base:
        # 1. Log in.
        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("メールアドレス").fill(ADMIN_EMAIL)
        page.get_by_label("パスワード").fill(ADMIN_PASSWORD)
        shots.take(page, "login")
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("link", name="基本設定")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        shots.take(page, "home")

        # 2. 基本設定: book man-hours to the minute and flag a difference from 10 minutes.
        page.get_by_role("link", name="基本設定").click()
        page.get_by_label("入力単位(分)").select_option("1")
        # The threshold's input has no <label>: its row heading names it.
        threshold = page.locator("tr", has_text="工数と勤怠の一致").get_by_role("spinbutton")
        threshold.fill("10")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_role("status")).to_have_text("設定を保存しました。")
        expect(threshold).to_have_value("10")
        expect(page.get_by_label("入力単位(分)")).to_have_value("1")
        shots.take(page, "settings-saved")
        with hub_app.app_context():
            saved = current_settings()
            assert (saved.input_unit, saved.mismatch_threshold) == (1, 10)

        # 3. メンバー: import the simulator's coded employees from a CSV.
        page.get_by_role("link", name="メンバー", exact=True).click()
        page.get_by_role("link", name=ja("Import CSV")).click()
        members_csv = "社員コード,名前,部署\r\n" + "".join(
            f"{e['employee_code']},{e['last_name']} {e['first_name']},{DEPARTMENT}\r\n" for e in employees
        )
        page.get_by_label("CSVファイル").set_input_files(
            files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": members_csv.encode("utf-8-sig")}]
        )
        shots.take(page, "members-import")
        page.get_by_role("button", name="インポート", exact=True).click()
        expect(page).to_have_url(re.compile(r"/admin/members/?$"))
        expect(page.get_by_role("status")).to_contain_text(str(len(employees)))
        for employee in employees:
            expect(page.get_by_role("cell", name=employee["employee_code"], exact=True)).to_be_visible()
        shots.take(page, "members")

        # 4. 外部連携: connect the simulator as a Jobcan with custom URLs, through the form.
        page.get_by_role("link", name="外部連携", exact=True).click()
        page.get_by_role("link", name="外部連携サービスを追加").click()
        page.get_by_role("link", name="ジョブカン勤怠管理").click()
        page.get_by_label("連携名").fill(INTEGRATION)
        page.get_by_label("ID", exact=True).fill(sim.client_id)
        page.get_by_label("シークレットアクセスキー").fill(sim.client_secret)
        page.get_by_label("環境", exact=True).select_option("custom")
        page.get_by_label("APIベースURL").fill(sim.url)
        page.get_by_label("認証ベースURL").fill(sim.url)
        page.get_by_label("1秒あたりの最大リクエスト数").fill("50")
        page.get_by_label("同時リクエスト数").fill("8")
        shots.take(page, "integration-form")
        page.get_by_role("button", name="連携", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(
            [f"ジョブカン設定({INTEGRATION})と連携しました。", "管理メニュー内「勤怠」画面より勤怠の同期が行なえます。"]
        )
        shots.take(page, "integration-connected")

        # 5. 勤怠: sync October and wait for the run page to say it succeeded.
        page.get_by_role("link", name="勤怠", exact=True).click()
        page.get_by_label("連携", exact=True).select_option(label=INTEGRATION)
        page.get_by_label("開始日").fill(START.isoformat())
        page.get_by_label("終了日").fill(END.isoformat())
        page.get_by_role("button", name="同期", exact=True).click()
        expect(page).to_have_url(re.compile(r"/admin/attendance/runs/\d+$"))
        expect(page.locator("h1 .badge")).to_have_text("成功", timeout=60_000)
        shots.take(page, "sync-succeeded")
        with hub_app.app_context():
            run = db.session.scalar(select(SyncRun))
            assert run.created > 0 and run.unmatched_local == 0
            synced_days = run.created

        # 6. プロジェクト: add the project the 工数 will be booked on.
        page.get_by_role("link", name=ja("Projects"), exact=True).click()
        page.get_by_role("link", name=ja("Add project")).click()
        page.get_by_label(ja("Project code")).fill(PROJECT_CODE)
        page.get_by_label(ja("Project name")).fill(PROJECT_NAME)
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(ja("Project %(code)s added.", code=PROJECT_CODE))
        expect(page.get_by_role("cell", name=PROJECT_NAME, exact=True)).to_be_visible()
        shots.take(page, "project-added")

        # 7. タイムシート: an employee's ordinary day without 工数 shows △.
        employee = next(e for e in employees if _ordinary_days(sim, e))
        day = _ordinary_days(sim, employee)[0]
        with hub_app.app_context():
            member = db.session.scalar(select(Member).where(Member.code == employee["employee_code"]))
            stored = db.session.scalar(
                select(AttendanceDay).where(AttendanceDay.member_id == member.id, AttendanceDay.work_date == day)
            )
            work, clock_in = stored.work_minutes, stored.clock_in
            assert work == sim.data.summaries[(employee["id"], day)]["work"]
            member_id = member.id
            project_id = db.session.scalar(select(Project.id).where(Project.code == PROJECT_CODE))
        page.get_by_role("link", name=ja("Timesheets"), exact=True).click()
        page.get_by_label(ja("Member"), exact=True).select_option(employee["employee_code"])
        page.get_by_label(ja("Year and month"), exact=True).fill(MONTH)
        shots.take(page, "timesheet-picker")
        page.get_by_role("button", name=ja("Open timesheet")).click()
        expect(page).to_have_url(re.compile(rf"/timesheets/{member_id}/{MONTH}$"))
        row = page.locator(f"#d{day.isoformat()}")
        expect(row.locator(".mark")).to_have_text("△")
        expect(row.locator(".mark")).to_have_class(re.compile(r"\bmismatch\b"))
        expect(row).to_contain_text(format_hhmm(clock_in))
        mismatches_before = page.locator("table.timesheet .mark.mismatch").count()
        assert mismatches_before >= len(_ordinary_days(sim, employee))
        shots.take(page, "timesheet-mismatches")

        # 8. 工数: book the day's exact work time on the project; the △ becomes ✓.
        row.get_by_role("link").first.click()
        expect(page).to_have_url(re.compile(rf"/timesheets/{member_id}/day/{day.isoformat()}$"))
        expect(page.locator("h1 .mark")).to_have_text("△")
        page.get_by_label(ja("Project"), exact=True).select_option(label=f"{PROJECT_CODE} {PROJECT_NAME}")
        page.get_by_label(ja("Man-hours"), exact=True).fill(format_duration(work))
        shots.take(page, "day-manhours")
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/timesheets/{member_id}/{MONTH}#d{day.isoformat()}$"))
        expect(page.get_by_role("status")).to_have_text(ja("Man-hours saved."))
        expect(row.locator(".mark")).to_have_text("✓")
        expect(row.locator(".mark")).to_have_class(re.compile(r"\bmatch\b"))
        expect(page.locator("table.timesheet .mark.mismatch")).to_have_count(mismatches_before - 1)
        shots.take(page, "timesheet-fixed")
        with hub_app.app_context():
            entries = db.session.scalars(select(TimeEntry)).all()
            assert [(e.member_id, e.work_date, e.project_id, e.minutes) for e in entries] == [
                (member_id, day, project_id, work)
            ]

        # 9. エクスポート: October of 本社 / 開発部 as crowdlog CSV, UTF-8 with BOM (the defaults).
        page.get_by_role("link", name=ja("Export"), exact=True).click()
        page.get_by_label("開始日").fill(START.isoformat())
        page.get_by_label("終了日").fill(END.isoformat())
        page.get_by_label("連携", exact=True).select_option(label=INTEGRATION)
        page.get_by_label("部署", exact=True).select_option(DEPARTMENT)
        expect(page.get_by_label(japanese(hub_app, "Format", csv_catalog), exact=True)).to_have_value("crowdlog")
        expect(page.get_by_label(japanese(hub_app, "Encoding", csv_catalog), exact=True)).to_have_value("utf-8-sig")
        shots.take(page, "export")
        crowdlog = _download(page, ja("Download"))
        assert crowdlog.startswith(b"\xef\xbb\xbf")
        text = crowdlog.decode("utf-8-sig")
        assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == ["社員コード", "年月日", "出社", "退社", "休憩詳細", "日報", "ステータス", "休暇"]
        assert len(rows) - 1 == synced_days
        assert rows[1:] == _crowdlog_rows_from(sim, employees)
        assert {"全休", "午前休", "午後休"} & {row[7] for row in rows[1:]}  # Japanese cells came through

        # The daily format of the same period: names and department in Japanese, and the booked day's ✓.
        page.get_by_label(japanese(hub_app, "Format", csv_catalog), exact=True).select_option("daily")
        daily = list(csv.DictReader(io.StringIO(_download(page, ja("Download")).decode("utf-8-sig"), newline="")))
        names = {e["employee_code"]: f"{e['last_name']} {e['first_name']}" for e in employees}
        assert {(row["社員コード"], row["名前"], row["部署"]) for row in daily} == {
            (code, name, DEPARTMENT) for code, name in names.items()
        }
        booked = next(r for r in daily if (r["社員コード"], r["年月日"]) == (employee["employee_code"], str(day)))
        assert (booked["工数(分)"], booked["差分(分)"], booked["判定"]) == (str(work), "0", "✓")
        shots.take(page, "export-downloaded")


def _download(page, button: str) -> bytes:
    """Press the download button and return the file the browser saved."""
    with page.expect_download() as download_info:
        page.get_by_role("button", name=button, exact=True).click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".csv")
    return Path(download.path()).read_bytes()


def _crowdlog_rows_from(sim, employees) -> list[list[str]]:
    """The crowdlog rows the period should give, computed from the simulator's punches and holidays."""
    rows = []
    for employee in sorted(employees, key=lambda e: e["employee_code"]):
        for (employee_id, day), kind in sorted(sim.data.day_kinds.items(), key=lambda item: item[0][1]):
            if employee_id != employee["id"] or kind in (DayKind.DAY_OFF, DayKind.ABSENT):
                continue
            midnight = datetime.combine(day, time(0), tzinfo=timezone(timedelta(hours=9)))
            punches = [
                int((datetime.fromisoformat(a["recorded_at"]) - midnight).total_seconds()) // 60
                for a in sim.data.adits.get((employee_id, day), [])
            ]
            holiday = (sim.data.summaries.get((employee_id, day)) or {}).get("holiday") or {}
            leave = {"full": "全休", "am": "午前休", "pm": "午後休"}.get(holiday.get("type"), "")
            if holiday.get("type") == "hourly":
                leave = f"時間休({holiday['start']}-{holiday['end']})"
            inner = punches[1:-1]
            rows.append(
                [
                    employee["employee_code"],
                    day.isoformat(),
                    _hhmm(punches[0]) if punches else "",
                    _hhmm(punches[-1]) if len(punches) > 1 else "",
                    "/".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in zip(inner[0::2], inner[1::2], strict=True)),
                    "",
                    "0",
                    leave,
                ]
            )
    return rows


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ordinary_days(sim, employee) -> list[date]:
    return sorted(
        day
        for (employee_id, day), kind in sim.data.day_kinds.items()
        if employee_id == employee["id"] and kind is DayKind.ORDINARY
    )
