"""外部連携 and 勤怠 pages with a provider plugin the core has never heard of."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AttendanceDay, AuditLog, Integration, Member, SyncIssue, SyncRun
from hub.records import RemoteMember
from tests.conftest import create_test_admin, make_app
from tests.fake_provider import FakeHR, FakePlugin

SECRET = "good"


@pytest.fixture
def hr():
    hr = FakeHR(
        employees=[
            RemoteMember("10", "P1001", "工数 太郎"),
            RemoteMember("11", "N2001", "新人 花子"),
            RemoteMember("12", "p01002", "町田 洋助"),
        ]
    )
    hr.day("10", date(2026, 11, 2))
    return hr


@pytest.fixture
def app(tmp_path, hr):
    app = make_app(tmp_path, plugins=[FakePlugin(hr)])
    create_test_admin(app)
    with app.app_context():
        db.session.add_all([Member(code="P1001", name="工数 太郎"), Member(code="P1002", name="町田 洋助")])
        db.session.commit()
    return app


@pytest.fixture
def web(app, client):
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    return client


FORM = {"name": "本社", "account": "acme", "token": SECRET, "auto_sync": "on"}


def integrations(app):
    with app.app_context():
        return db.session.scalars(select(Integration)).all()


def test_add_flow_choose_then_connect(app, web):
    assert "No data." in web.get("/admin/integrations/").get_data(as_text=True)
    choose = web.get("/admin/integrations/new").get_data(as_text=True)
    assert 'href="/admin/integrations/new/fakehr"' in choose
    form = web.get("/admin/integrations/new/fakehr").get_data(as_text=True)
    for label in ("Integration name", "Account", "Token", "Auto sync"):
        assert label in form
    assert "when you connect several Fake HR accounts" in form  # the provider's name, not Jobcan's
    assert "Issued under Settings › API in Fake HR. Stored encrypted and never shown again." in form
    response = web.post("/admin/integrations/new/fakehr", data=FORM, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Fake HR settings (本社) connected." in page
    assert "Attendance is synced from Admin › Attendance." in page
    assert SECRET not in page.replace("Fake HR", "")
    [integration] = integrations(app)
    with app.app_context():
        integration = db.session.get(Integration, integration.id)
        assert integration.read_secrets() == {"token": SECRET} and integration.settings == {"account": "acme"}
        assert SECRET not in str(db.session.scalars(select(AuditLog.details)).all())


def test_japanese_flash_reads_like_the_manual(app, web):
    response = web.post("/admin/integrations/new/fakehr?lang=ja", data=FORM, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Fake HR設定(本社)と連携しました。" in page
    assert "管理メニュー内「勤怠」画面より勤怠の同期が行なえます。" in page


def test_bad_credentials_save_nothing(app, web):
    response = web.post("/admin/integrations/new/fakehr", data=dict(FORM, token="wrong"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Could not connect; nothing was saved." in page
    assert "The token is wrong." in page and 'value="wrong"' not in page
    assert integrations(app) == []


def test_name_is_required_and_unique(app, web):
    page = web.post("/admin/integrations/new/fakehr", data=dict(FORM, name=" ")).get_data(as_text=True)
    assert "Enter a name that tells this integration apart." in page
    web.post("/admin/integrations/new/fakehr", data=FORM)
    page = web.post("/admin/integrations/new/fakehr", data=FORM).get_data(as_text=True)
    assert "An integration named 本社 already exists." in page
    assert len(integrations(app)) == 1


def test_edit_keeps_a_blank_secret_and_never_shows_it(app, web):
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    page = web.get(f"/admin/integrations/{integration.id}/edit").get_data(as_text=True)
    assert SECRET not in page.replace("Fake HR", "") and 'value="acme"' in page
    response = web.post(
        f"/admin/integrations/{integration.id}/edit", data=dict(FORM, name="本社2", token="", auto_sync="off")
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Integration, integration.id)
        assert stored.name == "本社2" and stored.auto_sync is False and stored.read_secrets() == {"token": SECRET}
    bad = web.post(f"/admin/integrations/{integration.id}/edit", data=dict(FORM, token="wrong"))
    assert "The token is wrong." in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Integration, integration.id).read_secrets() == {"token": SECRET}


def test_test_connection_toggle_and_delete(app, web):
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    response = web.post(f"/admin/integrations/{integration.id}/check", follow_redirects=True)
    assert "Connected." in response.get_data(as_text=True)
    web.post(f"/admin/integrations/{integration.id}/auto-sync")
    assert integrations(app)[0].auto_sync is False
    confirm = web.get(f"/admin/integrations/{integration.id}/delete").get_data(as_text=True)
    assert "Delete 本社?" in confirm and "Attendance already synced stays" in confirm
    assert integrations(app)  # asking is not deleting
    web.post(f"/admin/integrations/{integration.id}/delete")
    assert integrations(app) == []


def test_sync_from_the_attendance_page_and_see_the_result(app, web):
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    response = web.post(
        "/admin/attendance/", data={"integration": integration.id, "start": "2026-11-01", "end": "2026-11-30"}
    )
    assert response.status_code == 302
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Succeeded" in page and "N2001" in page and "p01002" in page
    assert "Employees in the attendance system without a hub member" in page
    assert '<td class="code">P1002</td>' in page  # the near-miss suggestion for p01002
    history = web.get("/admin/attendance/").get_data(as_text=True)
    assert "本社" in history and "2026-11-01 – 2026-11-30" in history
    with app.app_context():
        assert db.session.scalar(select(func.count(AttendanceDay.id))) == 1


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-01", "2026-12-31", "A sync covers at most 40 days."),
        ("2026-11-10", "2026-11-01", "The last day must not be before the first day."),
        ("", "2026-11-01", "Enter the first day as YYYY-MM-DD."),
    ],
)
def test_sync_period_is_checked_on_the_form(app, web, start, end, message):
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    page = web.post("/admin/attendance/", data={"integration": integration.id, "start": start, "end": end})
    assert message in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(SyncRun.id))) == 0


def test_create_members_from_unmatched_employees(app, web):
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    location = web.post(
        "/admin/attendance/", data={"integration": integration.id, "start": "2026-11-01", "end": "2026-11-30"}
    ).headers["Location"]
    preview = web.get(location + "/members").get_data(as_text=True)
    assert "N2001" in preview and "新人 花子" in preview and "existing member P1002?" in preview
    with app.app_context():
        run = db.session.scalar(select(SyncRun))
        ids = {issue.employee_code: issue.id for issue in run.issues}
    web.post(location + "/members", data={"issue": [str(ids["N2001"])]})
    with app.app_context():
        codes = set(db.session.scalars(select(Member.code)))
    assert codes == {"P1001", "P1002", "N2001"}  # p01002 was not ticked: it is probably P1002
    # Syncing again brings the new member's attendance in (none here) and no longer reports them.
    again = web.get(location + "/members").get_data(as_text=True)
    assert "N2001" not in again


def test_an_unmatched_code_with_an_invisible_character_is_not_offered_as_a_member(app, web, hr):
    hr.employees.append(RemoteMember("13", "N3001\u200b", "見えない 文字"))
    web.post("/admin/integrations/new/fakehr", data=FORM)
    [integration] = integrations(app)
    location = web.post(
        "/admin/attendance/", data={"integration": integration.id, "start": "2026-11-01", "end": "2026-11-30"}
    ).headers["Location"]
    preview = web.get(location + "/members").get_data(as_text=True)
    assert "N2001" in preview and "見えない 文字" not in preview
    with app.app_context():
        issue_id = db.session.scalar(select(SyncIssue.id).where(SyncIssue.employee_name == "見えない 文字"))
    web.post(location + "/members", data={"issue": [str(issue_id)]})
    with app.app_context():
        assert set(db.session.scalars(select(Member.code))) == {"P1001", "P1002"}
