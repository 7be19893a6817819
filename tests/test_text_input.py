"""Control and invisible characters typed into the hub: form fields answer with a message on the field, query
strings with 400, commands with exit 2; nothing reaches the database (PostgreSQL cannot store a NUL).

Run this file on PostgreSQL too (HUB_TEST_SUITE_ON_POSTGRES=1): there a NUL that got through was a 500.
"""

from __future__ import annotations

import html

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from hub import hookimpl
from hub.exporters import Exporter
from hub.extensions import db
from hub.forms import HubForm
from hub.models import AuditLog, Integration, Member, Project, User
from tests.conftest import create_test_admin, make_app
from tests.fake_provider import FakeHR, FakePlugin

CONTROL_MESSAGE = "Remove control characters (such as NUL) from this field."


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- query strings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/members/?q=a%00b",
        "/admin/members/?q=%1b",
        "/admin/members/?status=active%7f",
        "/admin/members/?a%00=1",
        "/timesheets/?member=P1%00",
        "/reports/?department=%00",
        "/exports/?exporter=csv%00",
    ],
)
def test_a_query_string_with_a_control_character_is_refused(logged_in, path):
    response = logged_in.get(path)
    assert response.status_code == 400
    assert "The link (URL) contains a control character (such as NUL). Check the link." in page_of(response)


def test_the_refusal_comes_before_the_login(client):
    assert client.get("/login?next=/%00").status_code == 400


def test_plain_and_japanese_searches_still_work(logged_in):
    assert logged_in.get("/admin/members/?q=%E5%A4%AA%E9%83%8E+P1").status_code == 200  # 太郎 P1


# --- forms ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("code", "Employee code contains the invisible character U+0000; remove it."),  # a code says which
        ("name", CONTROL_MESSAGE),
        ("department", CONTROL_MESSAGE),
        ("position", CONTROL_MESSAGE),
        ("employment_type", CONTROL_MESSAGE),
        ("affiliation", CONTROL_MESSAGE),
    ],
)
def test_the_member_form_refuses_a_nul_in_any_text_field(app, logged_in, field, message):
    data = {"code": "P1", "name": "一郎", "price_unit": "monthly", field: "a\x00b"}
    response = logged_in.post("/admin/members/new", data=data)
    assert response.status_code == 200 and message in page_of(response)
    assert count(app, Member) == 0


def test_the_member_edit_form_refuses_a_nul_too(app, logged_in):
    with app.app_context():
        member = Member(code="P1", name="一郎")
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    response = logged_in.post(f"/admin/members/{member_id}/edit", data={"code": "P1", "name": "一\x00郎"})
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    with app.app_context():
        assert db.session.get(Member, member_id).name == "一郎"


def test_the_project_form_refuses_a_nul(app, logged_in):
    response = logged_in.post("/admin/manhours/new", data={"code": "PRJ-1", "name": "新規\x00開発", "active": "y"})
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    assert count(app, Project) == 0


@pytest.mark.parametrize(
    ("invisible", "shown"),
    [
        ("\u200b", "U+200B"),
        ("\ufeff", "U+FEFF"),
        ("\u2060", "U+2060"),
        ("\u00ad", "U+00AD"),
        ("\x00", "U+0000"),
        ("\ufe0f", "U+FE0F"),  # variation selector: a mark, not a format character, yet invisible
        ("\u034f", "U+034F"),
        ("\u3164", "U+1160"),  # the Hangul filler, as NFKC leaves it
        ("\u2800", "U+2800"),
        ("\U000e0100", "U+E0100"),
    ],
)
def test_codes_with_an_invisible_character_are_refused_on_their_field(app, logged_in, invisible, shown):
    response = logged_in.post("/admin/members/new", data={"code": f"P10{invisible}01", "name": "似顔 絵"})
    assert f"Employee code contains the invisible character {shown}; remove it." in page_of(response)
    response = logged_in.post("/admin/manhours/new", data={"code": f"{invisible}PRJ-A", "name": "Alpha"})
    assert f"Project code contains the invisible character {shown}; remove it." in page_of(response)
    assert count(app, Member) == 0 and count(app, Project) == 0


def test_a_code_still_loses_surrounding_spaces_and_full_width_forms(app, logged_in):
    response = logged_in.post("/admin/members/new", data={"code": " Ｐ１００１\u3000", "name": "工数 太郎"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Member.code)).all() == ["P1001"]


def test_the_japanese_page_says_it_in_japanese(app, logged_in):
    response = logged_in.post("/admin/members/new?lang=ja", data={"code": "P1\u200b", "name": "一\x00郎"})
    page = page_of(response)
    assert "この欄から制御文字（NULなど）を削除してください。" in page
    assert "社員コードに見えない文字 U+200B が含まれています。削除してください。" in page


def test_the_login_form_refuses_a_nul_without_looking_the_address_up(app, client, admin):
    response = client.post("/login", data={"email": "admin@example.com\x00", "password": "correct horse battery"})
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)


def test_the_export_member_list_refuses_a_nul_but_takes_line_breaks(app, logged_in):
    with app.app_context():
        db.session.add_all([Member(code="P1", name="一郎"), Member(code="P2", name="二郎")])
        db.session.commit()
    data = {"start": "2026-11-01", "end": "2026-11-30", "options-format": "crowdlog", "options-encoding": "utf-8"}
    response = logged_in.post("/exports/", data={**data, "members": "P1\x00P2"})
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    response = logged_in.post("/exports/", data={**data, "members": "P1\r\n\tP2"})
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")


@pytest.fixture
def with_provider(tmp_path):
    app = make_app(tmp_path, plugins=[FakePlugin(FakeHR())])
    create_test_admin(app)
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    return app, client


def test_the_integration_name_refuses_a_nul(with_provider):
    app, client = with_provider
    data = {"name": "本\x00社", "account": "acme", "token": "good", "auto_sync": "on"}
    response = client.post("/admin/integrations/new/fakehr", data=data)
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    assert count(app, Integration) == 0


def test_a_plugins_settings_field_gets_the_same_check(with_provider):
    app, client = with_provider
    data = {"name": "本社", "account": "ac\x1bme", "token": "good", "auto_sync": "on"}
    response = client.post("/admin/integrations/new/fakehr", data=data)
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    assert count(app, Integration) == 0


class TitleForm(FlaskForm):
    title = StringField("Title", default="勤怠")


class TitledExporter(Exporter):
    """A plugin's exporter with a free-text option, in a plain FlaskForm."""

    name = "titled"
    label = "Titled"
    options_form = TitleForm

    def write(self, rows, stream, options) -> None:
        stream.write(options["title"].encode())


class TitledPlugin:
    @hookimpl
    def hub_exporters(self):
        return [TitledExporter()]


def test_an_exporters_text_option_gets_the_same_check_on_the_page_and_the_command(tmp_path):
    app = make_app(tmp_path, plugins=[TitledPlugin()])
    create_test_admin(app)
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    data = {"start": "2026-11-01", "end": "2026-11-30", "options-title": "勤\x00怠"}
    response = client.post("/exports/?exporter=titled", data=data)
    assert response.status_code == 200 and CONTROL_MESSAGE in page_of(response)
    args = ["export", "titled", "--from", "2026-11-01", "--to", "2026-11-30", "--title", "勤\x00怠"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and f"--title: {CONTROL_MESSAGE}" in result.output
    assert count(app, AuditLog) == 0  # no export was recorded


def test_every_form_of_the_core_is_a_hub_form(app):
    """A new form that forgets HubForm would take a NUL into the database again."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    core = {cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("hub.") and cls is not HubForm}
    assert core, "no core form found"
    assert sorted(cls.__qualname__ for cls in core if not issubclass(cls, HubForm)) == []


# --- commands -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "本\x00社", "--from", "2026-11-02", "--to", "2026-11-04"],
        ["integrations", "check", "本\x00社"],
        ["integrations", "add", "fakehr", "本\x00社", "--set", "account=acme", "--set", "token=good"],
        ["create-admin", "a\x00@example.com", "--password-stdin"],
        ["export", "csv", "--from", "2026-11-01", "--to", "2026-11-30", "--department", "営\x00業"],
        ["export", "csv", "--from", "2026-11-01", "--to", "2026-11-30", "--integration", "本\x00社"],
        ["export", "csv", "--from", "2026-11-01", "--to", "2026-11-30", "--member", "P1\x00"],
    ],
)
def test_a_command_argument_with_a_control_character_is_a_usage_error(tmp_path, args):
    app = make_app(tmp_path, plugins=[FakePlugin(FakeHR())])
    result = app.test_cli_runner().invoke(args=args, input="correct horse battery\n")
    assert result.exit_code == 2, result.output
    assert "contains the control character U+0000." in result.output
    assert count(app, Integration) == 0 and count(app, User) == 0 and count(app, AuditLog) == 0


def test_a_settings_value_from_a_command_is_checked_by_the_form(tmp_path):
    app = make_app(tmp_path, plugins=[FakePlugin(FakeHR())])
    args = ["integrations", "add", "fakehr", "本社", "--set", "account=ac\x07me", "--set", "token=good"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and f"account: {CONTROL_MESSAGE}" in result.output
    assert count(app, Integration) == 0
