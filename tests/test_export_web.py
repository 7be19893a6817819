"""エクスポート page: the form with its defaults and choices, the download, and errors shown on the page."""

from __future__ import annotations

import calendar

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditLog, Member
from hub.settings.service import company_today
from tests.conftest import create_test_admin, make_app
from tests.export_data import CountPlugin, build_november, integration_id

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def november(app):
    build_november(app)
    return app


def form(**overrides) -> dict[str, str]:
    data = {
        "start": "2026-11-01",
        "end": "2026-11-30",
        "integration": "",
        "department": "",
        "members": "",
        "options-format": "crowdlog",
        "options-encoding": "utf-8-sig",
    }
    data.update(overrides)
    return data


def test_the_page_needs_a_login(client):
    response = client.get("/exports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/exports/", data=form()).status_code == 302


def test_the_page_offers_period_filters_and_the_csv_options(november, logged_in):
    page = logged_in.get("/exports/").get_data(as_text=True)
    with november.app_context():
        today = company_today()
    first = today.replace(day=1)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    assert f'value="{first.isoformat()}"' in page and f'value="{last.isoformat()}"' in page  # this month
    assert "ジョブカン本社" in page and "支社" in page and "All integrations" in page
    for department in ("開発", "営業", "-x"):
        assert f'<option value="{department}">{department}</option>' in page
    assert 'name="options-format"' in page and 'value="daily"' in page and 'value="monthly"' in page
    assert 'name="options-encoding"' in page and 'value="cp932"' in page
    assert '<option selected value="crowdlog">' in page and '<option selected value="utf-8-sig">' in page
    assert 'href="/exports/"' in page  # the sidebar link


def test_post_downloads_the_file(november, logged_in):
    response = logged_in.post("/exports/", data=form())
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=kintai_crowdlog_2026-11-01_2026-11-30.csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    assert body.startswith(BOM + "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇\r\n".encode())
    assert b"P1001,2026-11-03,22:00,26:10,24:00-24:45,,0,\r\n" in body
    assert body.count(b"\r\n") == 9


def test_post_with_filters_and_options(november, logged_in):
    data = form(
        **{
            "integration": str(integration_id(november, "ジョブカン本社")),
            "members": "P1001, Ｐ１００２\nP1003",  # full-width codes are normalized
            "options-format": "monthly",
            "options-encoding": "cp932",
        }
    )
    response = logged_in.post("/exports/", data=data)
    assert response.headers["Content-Disposition"].endswith("filename=kintai_monthly_2026-11-01_2026-11-30.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=Windows-31J"
    assert response.get_data().decode("cp932") == (
        "社員コード,名前,部署,年月,出勤日数,勤務(分),休暇日数,工数(分),差分(分),"
        "残業(分),残業(H:MM),深夜(分),深夜(H:MM),遅刻早退(分),遅刻早退(H:MM)\r\n"
        "P1001,山田 太郎,開発,2026-11,5,1090,2,1425,-335,15,0:15,250,4:10,65,1:05\r\n"
    )
    response = logged_in.post("/exports/", data=form(department="営業", **{"options-format": "daily"}))
    lines = response.get_data().decode("utf-8-sig").split("\r\n")
    assert len(lines) == 3 and lines[1].startswith("P1003,佐藤 花子,営業,2026-11-02,")


def test_the_download_is_audited_with_the_admin(november, logged_in):
    logged_in.post("/exports/", data=form(**{"options-format": "daily"}))
    with november.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
        assert entry.actor == "admin@example.com" and entry.actor_id is not None
        assert entry.details["rows"] == 8 and entry.details["options"] == {"format": "daily", "encoding": "utf-8-sig"}


def test_a_cp932_error_shows_on_the_page_and_downloads_nothing(november, logged_in):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1003")).name = "𠮷田 花子"
        db.session.commit()
    response = logged_in.post("/exports/", data=form(**{"options-format": "daily", "options-encoding": "cp932"}))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert "Nothing was exported." in page
    assert "P1003 𠮷田 花子" in page and "𠮷 (U+20BB7)" in page and "CP932" in page
    assert 'value="cp932" selected' in page or '<option selected value="cp932">' in page  # the choice is kept
    with november.app_context():
        assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "2026-11-30", "end": "2026-11-01"}, "The last day must not be before the first day."),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "An export covers at most 366 days"),  # 367 days
        ({"start": ""}, "Enter the first day as YYYY-MM-DD."),
        ({"end": "2026-13-01"}, "Enter the last day as YYYY-MM-DD."),
        ({"members": "P1001 P9999 X1"}, "No member has the code(s): P9999, X1."),
        ({"integration": "999"}, "Not a valid choice"),
        ({"department": "存在しない部署"}, "Not a valid choice"),
        ({"options-format": "weekly"}, "Not a valid choice"),
        ({"options-encoding": "latin-1"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_a_field_error(november, logged_in, overrides, message):
    response = logged_in.post("/exports/", data=form(**overrides))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page and message in page


def test_a_year_is_allowed(november, logged_in):
    response = logged_in.post("/exports/", data=form(start="2026-01-01", end="2026-12-31"))
    assert response.headers["Content-Disposition"].endswith("kintai_crowdlog_2026-01-01_2026-12-31.csv")
    assert response.get_data().count(b"\r\n") == 10  # header + November's 8 + P1003's 2026-12-01


def test_an_unknown_exporter_is_not_found(november, logged_in):
    assert logged_in.get("/exports/?exporter=pdf").status_code == 404


def test_the_form_needs_its_csrf_token(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    build_november(app)
    create_test_admin(app)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token})
    response = client.post("/exports/", data=form())
    assert "Content-Disposition" not in response.headers
    page = client.get("/exports/").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/exports/", data=form(csrf_token=token))
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_another_exporter_gets_a_tab_with_its_options(tmp_path):
    app = make_app(tmp_path, plugins=[CountPlugin()])
    build_november(app)
    create_test_admin(app)
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    page = client.get("/exports/").get_data(as_text=True)
    assert 'href="/exports/?exporter=count"' in page and 'name="options-format"' in page  # csv comes first
    page = client.get("/exports/?exporter=count").get_data(as_text=True)
    assert (
        'name="options-layout"' in page and 'name="options-totals"' in page and 'href="/exports/?exporter=csv"' in page
    )
    response = client.post("/exports/?exporter=count", data=form(**{"options-layout": "narrow", "options-totals": "y"}))
    assert response.headers["Content-Disposition"] == "attachment; filename=kintai_count_2026-11-01_2026-11-30.txt"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.get_data() == b"narrow totals=True rows=8\n"
