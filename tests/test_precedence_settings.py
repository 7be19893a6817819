"""Where the admin sets sync precedence: 優先度 on the integration page and command, 勤怠の優先連携 on the member
form and in the members CSV."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.integrations.service import provider_named, save_integration
from hub.models import AuditLog, Integration, Member
from hub.records import RemoteMember
from tests.conftest import create_test_admin, make_app
from tests.fake_provider import FakeHR, FakePlugin

FORM = {"name": "本社", "account": "acme", "token": "good", "auto_sync": "on"}
MEMBER = {"code": "P2001", "name": "新人 花子", "price_unit": "monthly"}


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path, plugins=[FakePlugin(FakeHR(employees=[RemoteMember("10", "P1001", "工数 太郎")]))])
    create_test_admin(app)
    with app.app_context():
        provider = provider_named("fakehr")
        save_integration(provider, "本社", {"account": "acme", "token": "good"}, auto_sync=True)
        save_integration(provider, "支社", {"account": "acme", "token": "good"}, auto_sync=True)
        db.session.add(Member(code="P1001", name="工数 太郎"))
        db.session.commit()
    return app


@pytest.fixture
def web(app, client):
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    return client


def integration(app, name: str) -> Integration:
    with app.app_context():
        return db.session.scalar(select(Integration).where(Integration.name == name))


def member(app, code: str) -> Member:
    with app.app_context():
        return db.session.scalar(select(Member).where(Member.code == code))


# --- 優先度 on the integration page -------------------------------------------------------------------


def test_the_edit_page_sets_the_priority_with_full_width_digits_and_audits_it(app, web):
    target = integration(app, "本社")
    page = web.get(f"/admin/integrations/{target.id}/edit").get_data(as_text=True)
    assert 'name="priority"' in page and 'value="0"' in page and "higher wins" in page
    response = web.post(f"/admin/integrations/{target.id}/edit", data=dict(FORM, token="", priority="１０"))
    assert response.status_code == 302
    assert integration(app, "本社").priority == 10
    assert f'value="{10}"' in web.get(f"/admin/integrations/{target.id}/edit").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "integration.update")).one()
        assert entry.details["priority"] == [0, 10]
    listing = web.get("/admin/integrations/").get_data(as_text=True)
    assert "Priority" in listing and '<td class="number">10</td>' in listing


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Enter a whole number, such as 10."),
        ("1.5", "Enter a whole number, such as 10."),
        ("100", "Enter a priority from 0 to 99."),
        ("-1", "Enter a priority from 0 to 99."),
    ],
)
def test_a_bad_priority_is_a_field_error_and_nothing_is_saved(app, web, typed, message):
    target = integration(app, "本社")
    response = web.post(f"/admin/integrations/{target.id}/edit", data=dict(FORM, token="", priority=typed))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'<p class="field-error" id="priority-error">{message}</p>' in page
    assert page.count('class="field-error"') == 1  # one message: "abc" is not also out of range
    assert f'value="{typed}"' in page  # what was typed comes back, to be corrected
    assert integration(app, "本社").priority == 0


def test_a_blank_priority_is_0_and_a_new_integration_takes_one(app, web):
    response = web.post("/admin/integrations/new/fakehr", data=dict(FORM, name="新会社", priority=" ３ "))
    assert response.status_code == 302 and integration(app, "新会社").priority == 3
    target = integration(app, "新会社")
    web.post(f"/admin/integrations/{target.id}/edit", data=dict(FORM, name="新会社", token="", priority=""))
    assert integration(app, "新会社").priority == 0


def test_the_japanese_page_says_優先度(app, web):
    target = integration(app, "本社")
    page = web.get(f"/admin/integrations/{target.id}/edit?lang=ja").get_data(as_text=True)
    assert "優先度" in page and "大きいほど優先" in page
    bad = web.post(f"/admin/integrations/{target.id}/edit?lang=ja", data=dict(FORM, token="", priority="百"))
    assert "整数で入力してください" in bad.get_data(as_text=True)


# --- 優先度 on the command line ---------------------------------------------------------------------


def test_cli_edit_and_add_set_the_priority_and_list_shows_it(app):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["integrations", "edit", "本社", "--priority", "５"])
    assert result.exit_code == 0, result.output
    assert integration(app, "本社").priority == 5
    result = cli.invoke(args=["integrations", "add", "fakehr", "新会社", "--set", "token=good", "--priority", "7"])
    assert result.exit_code == 0, result.output
    rows = json.loads(cli.invoke(args=["integrations", "list", "--json"]).stdout)
    assert {row["name"]: row["priority"] for row in rows} == {"本社": 5, "支社": 0, "新会社": 7}
    # an edit of something else keeps the priority; --set priority=… is the same field
    assert cli.invoke(args=["integrations", "edit", "本社", "--set", "account=other"]).exit_code == 0
    assert integration(app, "本社").priority == 5
    assert cli.invoke(args=["integrations", "edit", "支社", "--set", "priority=2"]).exit_code == 0
    assert integration(app, "支社").priority == 2


@pytest.mark.parametrize(("typed", "message"), [("x", "Enter a whole number"), ("150", "from 0 to 99")])
def test_cli_refuses_a_bad_priority_with_exit_2(app, typed, message):
    result = app.test_cli_runner().invoke(args=["integrations", "edit", "本社", "--priority", typed])
    assert result.exit_code == 2 and "priority: " in result.stderr and message in result.stderr
    assert integration(app, "本社").priority == 0


# --- 勤怠の優先連携 on the member form --------------------------------------------------------------


def test_the_member_form_offers_the_integrations_and_saves_the_choice(app, web):
    branch = integration(app, "支社")
    page = web.get("/admin/members/new").get_data(as_text=True)
    assert 'name="preferred_integration_id"' in page and ">支社</option>" in page and ">本社</option>" in page
    assert web.post("/admin/members/new", data=dict(MEMBER, preferred_integration_id=str(branch.id))).status_code == 302
    hanako = member(app, "P2001")
    assert hanako.preferred_integration_id == branch.id
    edit = web.get(f"/admin/members/{hanako.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{branch.id}">支社</option>' in edit
    web.post(f"/admin/members/{hanako.id}/edit", data=dict(MEMBER, preferred_integration_id=""))
    assert member(app, "P2001").preferred_integration_id is None


@pytest.mark.parametrize("value", ["9999", "abc"])
def test_the_member_form_refuses_an_integration_that_is_not_offered(app, web, value):
    response = web.post("/admin/members/new", data=dict(MEMBER, preferred_integration_id=value))
    assert response.status_code == 200 and 'id="preferred_integration_id-error"' in response.get_data(as_text=True)
    assert member(app, "P2001") is None


def test_the_japanese_member_form_says_勤怠の優先連携(app, web):
    page = web.get("/admin/members/new?lang=ja").get_data(as_text=True)
    assert "勤怠の優先連携" in page


# --- 勤怠の優先連携 in the members CSV --------------------------------------------------------------


def upload(web, text: str):
    return web.post(
        "/admin/members/import",
        data={"file": (io.BytesIO(text.encode("utf-8")), "members.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_the_members_csv_sets_and_clears_the_preferred_integration_by_name(app, web):
    branch = integration(app, "支社")
    upload(web, "社員コード,名前,勤怠の優先連携\r\nP1001,工数 太郎,支社\r\nP2001,新人 花子,\r\n")
    assert member(app, "P1001").preferred_integration_id == branch.id
    assert member(app, "P2001").preferred_integration_id is None
    upload(web, "社員コード,名前\r\nP1001,工数 太郎\r\n")  # a column left out keeps the preference
    assert member(app, "P1001").preferred_integration_id == branch.id
    upload(web, "employee_code,name,preferred_integration\r\nP1001,工数 太郎,\r\n")
    assert member(app, "P1001").preferred_integration_id is None


def test_an_unknown_integration_in_the_members_csv_is_a_line_error(app, web):
    page = upload(web, "社員コード,名前,勤怠の優先連携\r\nP1001,工数 太郎,本店\r\n").get_data(as_text=True)
    assert "Line 2: 勤怠の優先連携: no integration is named 本店 (integrations: 支社, 本社)." in page
    assert member(app, "P1001").preferred_integration_id is None
