"""工数 CSV import: headers and encodings, minutes or H:MM in the input unit, line-numbered errors, all or
nothing, locked days, upsert and removal, audit, web and CLI."""

from __future__ import annotations

import html
import io
from datetime import date

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditLog, DayState, Member, Project, TimeEntry, TimesheetDay
from hub.settings.service import current_settings

EXCEL_CSV = (
    "社員コード,年月日,プロジェクトコード,工数\r\n"
    "P1001,2025/04/01,PRJ-A,7:30\r\n"
    "P1001,2025/04/01,PRJ-B,30\r\n"
    "P1002,2025-04-02,PRJ-A,480\r\n"
)


@pytest.fixture
def company(app):
    with app.app_context():
        db.session.add_all(
            [
                Member(code="P1001", name="工数 太郎"),
                Member(code="P1002", name="町田 洋助"),
                Member(code="-X1", name="Dash"),
                Project(code="PRJ-A", name="Alpha"),
                Project(code="PRJ-B", name="Beta"),
                Project(code="OLD", name="Old", active=False),
            ]
        )
        db.session.commit()


def upload(client, content: bytes, name="manhours.csv"):
    return client.post(
        "/admin/manhours/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def entries(app) -> dict[tuple[str, date, str], int]:
    with app.app_context():
        rows = db.session.execute(
            select(Member.code, TimeEntry.work_date, Project.code, TimeEntry.minutes)
            .join(Member, Member.id == TimeEntry.member_id)
            .join(Project, Project.id == TimeEntry.project_id)
        )
        return {(code, day, project): minutes for code, day, project, minutes in rows}


def errors_of(response) -> list[str]:
    page = response.get_data(as_text=True)
    assert "Nothing was imported." in page
    section = page.split('<section class="card errors"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(item.split("</li>")[0]) for item in section.split("<li>")[1:]]


def test_an_excel_file_with_bom_and_crlf_imports(app, logged_in, company):
    response = upload(logged_in, EXCEL_CSV.encode("utf-8-sig"))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/manhours/"
    page = logged_in.get("/admin/manhours/").get_data(as_text=True)
    assert "Imported 3 man-hours lines: 3 added, 0 updated, 0 removed, 0 unchanged." in page
    assert entries(app) == {
        ("P1001", date(2025, 4, 1), "PRJ-A"): 450,
        ("P1001", date(2025, 4, 1), "PRJ-B"): 30,
        ("P1002", date(2025, 4, 2), "PRJ-A"): 480,
    }
    with app.app_context():
        (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "manhours.import"))
        assert entry.target == "manhours.csv" and entry.actor == "admin@example.com"
        assert entry.details == {"created": 3, "updated": 0, "removed": 0, "unchanged": 0}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_encodings(app, logged_in, company, encoding):
    assert upload(logged_in, EXCEL_CSV.encode(encoding)).status_code == 302
    assert len(entries(app)) == 3


def test_english_headers_in_any_order_and_the_date_alias(app, logged_in, company):
    content = b"minutes,project_code,date,employee_code\n1:15,PRJ-A,2025-04-03,P1002\n"
    assert upload(logged_in, content).status_code == 302
    content = "工数,日付,project,code\n45,2025-04-04,PRJ-B,P1002\n".encode()
    assert upload(logged_in, content).status_code == 302
    assert entries(app) == {("P1002", date(2025, 4, 3), "PRJ-A"): 75, ("P1002", date(2025, 4, 4), "PRJ-B"): 45}


def test_full_width_codes_and_a_neutralized_code_are_read_as_typed(app, logged_in, company):
    content = "社員コード,年月日,プロジェクトコード,工数\nＰ１００１,２０２５-０４-０１,ＰＲＪ－Ａ,１:００\n'-X1,2025-04-01,PRJ-A,60\n"
    assert upload(logged_in, content.encode()).status_code == 302
    assert entries(app) == {("P1001", date(2025, 4, 1), "PRJ-A"): 60, ("-X1", date(2025, 4, 1), "PRJ-A"): 60}


def test_reimport_updates_removes_and_keeps(app, logged_in, company):
    upload(logged_in, EXCEL_CSV.encode())
    content = (
        "社員コード,年月日,プロジェクトコード,工数\n"
        "P1001,2025-04-01,PRJ-A,8:00\n"  # updated
        "P1001,2025-04-01,PRJ-B,0\n"  # removed
        "P1002,2025-04-02,PRJ-A,8:00\n"  # unchanged
        "P1002,2025-04-03,PRJ-B,0\n"  # nothing to remove: unchanged, nothing added
    )
    assert upload(logged_in, content.encode(), name="second.csv").status_code == 302
    page = logged_in.get("/admin/manhours/").get_data(as_text=True)
    assert "Imported 4 man-hours lines: 0 added, 1 updated, 1 removed, 2 unchanged." in page
    assert entries(app) == {("P1001", date(2025, 4, 1), "PRJ-A"): 480, ("P1002", date(2025, 4, 2), "PRJ-A"): 480}
    with app.app_context():
        last = db.session.scalars(select(AuditLog).where(AuditLog.action == "manhours.import").order_by(AuditLog.id))
        assert [entry.details for entry in last][-1] == {"created": 0, "updated": 1, "removed": 1, "unchanged": 2}


def test_every_bad_line_is_named_and_nothing_is_imported(app, logged_in, company):
    upload(logged_in, "社員コード,年月日,プロジェクトコード,工数\nP1001,2025-04-01,PRJ-A,60\n".encode())
    before = entries(app)
    content = (
        "社員コード,年月日,プロジェクトコード,工数\n"
        "P1001,2025-04-01,PRJ-A,120\n"  # fine, but the file is refused as a whole
        "P9999,2025-04-01,PRJ-A,60\n"
        "P1001,2025-04-31,PRJ-A,60\n"
        "P1001,2025-04-02,NOPE,60\n"
        "P1001,2025-04-02,OLD,60\n"
        "P1001,2025-04-02,PRJ-A,1h\n"
        "P1001,2025-04-02,PRJ-B,20\n"
        "P1001,2025-04-03,PRJ-B,25:00\n"
        "P1002,2025-04-02,PRJ-A,\n"
        "P1001,2025-04-01,ＰＲＪ－Ａ,30\n"
        "P1002,2025-04-02,PRJ-A,60,extra\n"
    )
    response = upload(logged_in, content.encode())
    assert response.status_code == 200
    assert errors_of(response) == [
        "Line 3: No member has the employee code P9999.",
        "Line 4: 年月日 “2025-04-31” is not a date such as 2025-04-01.",
        "Line 5: No project has the code NOPE.",
        "Line 6: Project OLD is inactive.",
        "Line 7: 工数 “1h”: Enter minutes (90) or hours and minutes (1:30).",
        "Line 8: 工数 “20”: Enter a multiple of the input unit (15 minutes).",
        "Line 9: 工数 “25:00”: Man-hours cannot exceed 24 hours a day.",
        "Line 10: 工数 is empty.",
        "Line 11: P1001 on 2025-04-01 for project PRJ-A is already on line 2.",
        "Line 12: The row has 5 cells; the header has 4.",
    ]
    assert entries(app) == before
    with app.app_context():
        assert len(db.session.scalars(select(AuditLog).where(AuditLog.action == "manhours.import")).all()) == 1


def test_the_input_unit_comes_from_the_settings(app, logged_in, company):
    with app.app_context():
        current_settings().input_unit = 30
        db.session.commit()
    content = "社員コード,年月日,プロジェクトコード,工数\nP1001,2025-04-01,PRJ-A,0:45\nP1001,2025-04-02,PRJ-A,1:30\n"
    assert errors_of(upload(logged_in, content.encode())) == [
        "Line 2: 工数 “0:45”: Enter a multiple of the input unit (30 minutes)."
    ]
    page = logged_in.get("/admin/manhours/import").get_data(as_text=True)
    assert "a multiple of the input unit (30 minutes)" in page


def test_a_submitted_or_approved_day_cannot_be_changed(app, logged_in, company):
    with app.app_context():
        taro = db.session.scalar(select(Member).where(Member.code == "P1001"))
        db.session.add(TimesheetDay(member_id=taro.id, work_date=date(2025, 4, 1), state=DayState.SUBMITTED))
        db.session.add(TimesheetDay(member_id=taro.id, work_date=date(2025, 4, 2), state=DayState.APPROVED))
        db.session.add(TimesheetDay(member_id=taro.id, work_date=date(2025, 4, 3), state=DayState.DRAFT))
        db.session.commit()
    content = (
        "社員コード,年月日,プロジェクトコード,工数\n"
        "P1001,2025-04-03,PRJ-A,60\n"
        "P1001,2025-04-02,PRJ-A,60\n"
        "P1002,2025-04-01,PRJ-A,60\n"
        "P1001,2025-04-01,PRJ-A,0\n"
    )
    assert errors_of(upload(logged_in, content.encode())) == [
        "Line 3: P1001 on 2025-04-02 is submitted or approved. Reopen the day to change its man-hours.",
        "Line 5: P1001 on 2025-04-01 is submitted or approved. Reopen the day to change its man-hours.",
    ]
    assert entries(app) == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("社員コード,年月日,工数\nP1001,2025-04-01,60\n", ["Line 1: The column “プロジェクトコード” is missing."]),
        (
            "社員コード,年月日,プロジェクトコード,工数,メモ\nP1001,2025-04-01,PRJ-A,60,x\n",
            ["Line 1: The column “メモ” is unknown."],
        ),
        ("社員コード,年月日,プロジェクトコード,工数\n\n", ["Line 2: The file has a header but no man-hours."]),
        ("", ["Line 1: The file is empty."]),
    ],
)
def test_file_level_problems(app, logged_in, company, content, expected):
    assert errors_of(upload(logged_in, content.encode()))[: len(expected)] == expected


def test_the_import_page_explains_the_format(logged_in):
    page = logged_in.get("/admin/manhours/import").get_data(as_text=True)
    for column in ("社員コード", "年月日", "プロジェクトコード", "工数"):
        assert f"<code>{column}</code>" in page
    assert 'enctype="multipart/form-data"' in page
    assert errors_of_missing_file(logged_in) == "Choose a CSV file."


def errors_of_missing_file(client) -> str:
    page = client.post("/admin/manhours/import", data={}, content_type="multipart/form-data").get_data(as_text=True)
    return page.split('<p class="field-error" id="file-error">', 1)[1].split("</p>", 1)[0]


def test_cli_import(app, runner, company, tmp_path):
    good = tmp_path / "工数.csv"
    good.write_bytes(EXCEL_CSV.encode("cp932"))
    result = runner.invoke(args=["manhours", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 man-hours lines: 3 added, 0 updated, 0 removed, 0 unchanged." in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("社員コード,年月日,プロジェクトコード,工数\nP1001,2025-04-01,PRJ-A,0\nP1001,2025-04-05,PRJ-A,7\n")
    result = runner.invoke(args=["manhours", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: Line 3: 工数 “7”: Enter a multiple of the input unit (15 minutes)." in result.output
    assert "Nothing was imported." in result.output
    assert len(entries(app)) == 3  # line 2's removal was not applied either
    with app.app_context():
        (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "manhours.import"))
        assert entry.actor == "cli" and entry.target == "工数.csv"


def test_implausible_years_are_line_errors(app, logged_in, company):
    content = "社員コード,年月日,プロジェクトコード,工数\nP1001,0001-04-01,PRJ-A,60\nP1001,9999-04-01,PRJ-A,60\n"
    assert errors_of(upload(logged_in, content.encode())) == [
        "Line 2: 年月日: 0001-04-01 is outside 1900-01-01 … 2100-12-31.",
        "Line 3: 年月日: 9999-04-01 is outside 1900-01-01 … 2100-12-31.",
    ]
    assert entries(app) == {}
