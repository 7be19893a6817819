"""KING OF TIME in a real browser: Debian's Chromium, driven by Playwright, against the hub and the KING OF TIME
simulator on loopback — import the members, connect KING OF TIME through its Japanese form (環境 カスタムURL), sync
a month from 勤怠, and find a night shift (past 24:00) and a full-day leave on the タイムシート.

The provider is the built-in plugin, loaded through its entry point. Every step leaves a full-page screenshot at
1366 px in ``test-artifacts/kingoftime-journey/``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from hub.extensions import db
from hub.forms import format_hhmm
from hub.models import AttendanceDay, Integration, Member, SyncRun
from hub.sync import blackout
from hub_plugins.kingoftime.simulator import DayKind, KingOfTimeSimulator, SimulatorConfig
from tests.browser import CHROMIUM_ARGS, Screenshots, chromium_or_skip, japanese, live_server
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_test_admin, make_app

pytestmark = pytest.mark.slow

START, END = date(2026, 11, 1), date(2026, 11, 30)
MONTH = "2026-11"
INTEGRATION = "本社"
TIMEOUT = 20_000  # milliseconds for each wait on the page
NOON_IN_TOKYO = datetime(2026, 12, 1, 3, tzinfo=UTC)


@pytest.fixture
def sim():
    # Seed 2 gives an employee with both a night shift and a full-day leave in November (checked below).
    config = SimulatorConfig(employees=5, start=START, end=END, seed=2)
    with KingOfTimeSimulator(config) as simulator:
        yield simulator


@pytest.fixture
def hub_app(tmp_path, monkeypatch):
    """The hub as the browser sees it: CSRF on, syncs inline, the built-in KING OF TIME plugin, and the core's
    blackout clock at noon in Tokyo (outside KING OF TIME's restricted hours whenever the suite runs)."""
    monkeypatch.setattr(blackout, "utcnow", lambda: NOON_IN_TOKYO)
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
        context = browser.new_context(locale="ja-JP", viewport={"width": 1366, "height": 900})
        context.set_default_timeout(TIMEOUT)
        expect.set_options(timeout=TIMEOUT)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def days_of(sim, key: str, kind: DayKind) -> list[date]:
    return sorted(day for (k, day), found in sim.data.day_kinds.items() if k == key and found is kind)


def test_connect_kingoftime_sync_and_read_the_timesheet_in_chromium(hub_app, sim, page):
    shots = Screenshots("kingoftime-journey")

    def ja(message: str, **variables) -> str:
        return japanese(hub_app, message, **variables)

    employees = sim.data.employees
    employee = next(
        e
        for e in employees
        if days_of(sim, e["key"], DayKind.NIGHT_SHIFT) and days_of(sim, e["key"], DayKind.FULL_LEAVE)
    )
    night, leave = (
        days_of(sim, employee["key"], DayKind.NIGHT_SHIFT)[0],
        days_of(sim, employee["key"], DayKind.FULL_LEAVE)[0],
    )

    with live_server(hub_app) as base:
        # 1. Log in.
        page.goto(base + "/")
        page.get_by_label("メールアドレス").fill(ADMIN_EMAIL)
        page.get_by_label("パスワード").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.locator("html")).to_have_attribute("lang", "ja")

        # 2. メンバー: import KING OF TIME's employees by their codes (社員コード).
        page.get_by_role("link", name="メンバー", exact=True).click()
        page.get_by_role("link", name=ja("Import CSV")).click()
        members_csv = "社員コード,名前\r\n" + "".join(
            f"{e['code']},{e['lastName']} {e['firstName']}\r\n" for e in employees
        )
        page.get_by_label("CSVファイル").set_input_files(
            files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": members_csv.encode("utf-8-sig")}]
        )
        page.get_by_role("button", name="インポート", exact=True).click()
        expect(page).to_have_url(re.compile(r"/admin/members/?$"))
        expect(page.get_by_role("cell", name=employee["code"], exact=True)).to_be_visible()

        # 3. 外部連携: KING OF TIME with a custom URL pointing at the simulator, through the Japanese form.
        page.get_by_role("link", name="外部連携", exact=True).click()
        page.get_by_role("link", name="外部連携サービスを追加").click()
        page.get_by_role("link", name="KING OF TIME").click()
        expect(page).to_have_url(re.compile(r"/admin/integrations/new/kingoftime$"))
        page.get_by_label("連携名").fill(INTEGRATION)
        page.get_by_label("アクセストークン").fill(sim.access_token)
        page.get_by_label("環境", exact=True).select_option("custom")
        page.get_by_label("APIベースURL").fill(sim.url)
        shots.take(page, "kingoftime-form")
        page.get_by_role("button", name="連携", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(
            [
                f"KING OF TIME設定({INTEGRATION})と連携しました。",
                "管理メニュー内「勤怠」画面より勤怠の同期が行なえます。",
            ]
        )
        expect(page.get_by_role("cell", name=INTEGRATION, exact=True)).to_be_visible()
        assert sim.access_token not in page.content()
        shots.take(page, "kingoftime-connected")
        with hub_app.app_context():
            integration = db.session.scalar(select(Integration))
            assert integration.provider == "kingoftime"
            assert integration.settings["environment"] == "custom" and integration.settings["api_base_url"] == sim.url

        # 4. 勤怠: sync November and wait for the run page to say it succeeded.
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
            assert run.created > 0 and run.rejected == 0
            member = db.session.scalar(select(Member).where(Member.code == employee["code"]))
            stored = {
                day.work_date: day
                for day in db.session.scalars(select(AttendanceDay).where(AttendanceDay.member_id == member.id))
            }
            shift = stored[night]
            assert shift.clock_out > 24 * 60  # kept on the work date, past midnight
            shift_in, shift_out = format_hhmm(shift.clock_in), format_hhmm(shift.clock_out)
            member_id = member.id

        # 5. タイムシート: the night shift reads past 24:00 on its work date; the full-day leave says so.
        page.get_by_role("link", name=ja("Timesheets"), exact=True).click()
        page.get_by_label(ja("Member"), exact=True).select_option(employee["code"])
        page.get_by_label(ja("Year and month"), exact=True).fill(MONTH)
        page.get_by_role("button", name=ja("Open timesheet")).click()
        expect(page).to_have_url(re.compile(rf"/timesheets/{member_id}/{MONTH}$"))
        row = page.locator(f"#d{night.isoformat()}")
        expect(row.locator("td.time").nth(0)).to_have_text(shift_in)
        expect(row.locator("td.time").nth(1)).to_have_text(shift_out)
        assert re.fullmatch(r"(2[4-9]|3\d):\d\d", shift_out), shift_out  # 26:00-style, not 02:00
        leave_row = page.locator(f"#d{leave.isoformat()}")
        expect(leave_row).to_contain_text(ja("Full-day leave"))
        expect(leave_row.locator(".mark")).to_have_text("☕")
        shots.take(page, "timesheet")
