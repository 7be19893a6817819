"""Attendance from a crowdlog CSV: times past midnight, breaks, leave, neutralized cells, line-numbered errors,
all or nothing, locked days, unchanged days left alone, the source file, audit, web and CLI."""

from __future__ import annotations

import html
import io
from datetime import date

import pytest
from sqlalchemy import select

from hub.attendance.csv_import import import_attendance
from hub.cells import unneutralize
from hub.csvfiles import ImportFailed, source_name
from hub.extensions import db
from hub.models import AttendanceDay, AuditLog, DayState, Integration, Member, TimesheetDay
from hub.records import DayRecord, HourlyLeave, LeaveKind
from hub.store import content_hash

HEADER = "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇\r\n"
CROWDLOG = HEADER + (
    "P1001,2025-04-01,09:00,18:00,12:00-13:00,,0,\r\n"
    "P1001,2025-04-02,17:00,26:10,21:00-21:45/23:30-23:45,,0,\r\n"
    "P1001,2025-04-03,,,,,0,全休\r\n"
    "P1001,2025-04-04,14:00,18:00,,,0,午前休/時間休(16:00-17:00)\r\n"
    "P1001,2025-04-07,09:00,,,,0,\r\n"
    "'-X1,2025-04-01,09:00,13:00,,,0,午後休\r\n"
    "'=Y2,2025-04-01,10:00,19:00,12:00-13:00,日報は無視,1,時間休(10:00-11:00)/時間休(15:00-15:30)\r\n"
)


@pytest.fixture
def company(app):
    with app.app_context():
        db.session.add_all(
            [
                Member(code="P1001", name="工数 太郎"),
                Member(code="P1002", name="町田 洋助"),
                Member(code="-X1", name="Dash"),
                Member(code="=Y2", name="Equals"),
            ]
        )
        db.session.commit()


def upload(client, content: bytes, name="crowdlog.csv"):
    return client.post(
        "/admin/attendance/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def days(app) -> dict[tuple[str, date], dict]:
    with app.app_context():
        found = {}
        for day, code in db.session.execute(
            select(AttendanceDay, Member.code).join(Member, Member.id == AttendanceDay.member_id)
        ):
            found[(code, day.work_date)] = {
                "clock_in": day.clock_in,
                "clock_out": day.clock_out,
                "work": day.work_minutes,
                "break": day.break_minutes,
                "breaks": [(item.start, item.end) for item in day.breaks],
                "leave": day.leave,
                "hourly": [(item.start, item.end) for item in day.hourly_leaves],
                "source": day.source_file,
                "integration_id": day.integration_id,
                "remote_id": day.remote_id,
                "hash": day.content_hash,
                "synced_at": day.synced_at,
            }
        return found


def errors_of(response) -> list[str]:
    page = response.get_data(as_text=True)
    assert "Nothing was imported." in page
    section = page.split('<section class="card errors"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(item.split("</li>")[0]) for item in section.split("<li>")[1:]]


def test_a_crowdlog_file_is_stored_day_by_day(app, logged_in, company):
    response = upload(logged_in, CROWDLOG.encode("utf-8-sig"))
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 7 attendance days from crowdlog.csv: 7 added, 0 updated, 0 unchanged." in page
    stored = days(app)
    assert len(stored) == 7
    day = stored[("P1001", date(2025, 4, 1))]
    assert (day["clock_in"], day["clock_out"], day["work"], day["break"]) == (540, 1080, 480, 60)
    assert day["breaks"] == [(720, 780)] and day["leave"] is LeaveKind.NONE and day["hourly"] == []
    assert (day["source"], day["integration_id"], day["remote_id"]) == ("crowdlog.csv", None, None)
    assert day["synced_at"] is not None

    night = stored[("P1001", date(2025, 4, 2))]  # 26:10 is 02:10 the next morning
    assert (night["clock_in"], night["clock_out"]) == (1020, 1570)
    assert night["breaks"] == [(1260, 1305), (1410, 1425)]
    assert (night["break"], night["work"]) == (60, 1570 - 1020 - 60)

    full = stored[("P1001", date(2025, 4, 3))]
    assert (full["leave"], full["clock_in"], full["clock_out"], full["work"]) == (LeaveKind.FULL, None, None, None)

    am_and_hourly = stored[("P1001", date(2025, 4, 4))]
    assert am_and_hourly["leave"] is LeaveKind.AM and am_and_hourly["hourly"] == [(960, 1020)]
    assert am_and_hourly["work"] == 240 - 60  # the hourly leave within the span is not work

    missing_out = stored[("P1001", date(2025, 4, 7))]
    assert (missing_out["clock_in"], missing_out["clock_out"], missing_out["work"]) == (540, None, None)

    assert stored[("-X1", date(2025, 4, 1))]["leave"] is LeaveKind.PM
    equals = stored[("=Y2", date(2025, 4, 1))]
    assert equals["hourly"] == [(600, 660), (900, 930)]
    assert equals["work"] == 540 - 60 - 60 - 30
    with app.app_context():
        (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.import"))
        assert entry.target == "crowdlog.csv" and entry.actor == "admin@example.com"
        assert entry.details == {"file": "crowdlog.csv", "created": 7, "updated": 0, "unchanged": 0, "skipped": 0}


def test_the_content_hash_is_the_sync_engines(app, logged_in, company):
    upload(logged_in, (HEADER + "P1001,2025-04-04,14:00,18:00,,,0,午前休/時間休(16:00-17:00)\r\n").encode())
    record = DayRecord(
        remote_id="P1001",
        work_date=date(2025, 4, 4),
        clock_in=840,
        clock_out=1080,
        work_minutes=180,
        break_minutes=0,
        leave=LeaveKind.AM,
        hourly_leaves=(HourlyLeave(960, 1020),),
    )
    assert days(app)[("P1001", date(2025, 4, 4))]["hash"] == content_hash(record)


def test_work_minutes_count_an_overlapping_break_and_leave_once(app, logged_in, company):
    content = HEADER + "P1002,2025-04-01,09:00,18:00,12:00-13:00,,0,時間休(12:30-14:00)\n"
    assert upload(logged_in, content.encode()).status_code == 302
    day = days(app)[("P1002", date(2025, 4, 1))]
    assert (day["work"], day["break"]) == (540 - 120, 60)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_encodings(app, logged_in, company, encoding):
    assert upload(logged_in, CROWDLOG.encode(encoding)).status_code == 302
    assert days(app)[("P1001", date(2025, 4, 3))]["leave"] is LeaveKind.FULL


def test_reimporting_the_same_file_rewrites_nothing(app, logged_in, company):
    upload(logged_in, CROWDLOG.encode())
    first = days(app)
    response = upload(logged_in, CROWDLOG.encode())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 7 attendance days from crowdlog.csv: 0 added, 0 updated, 7 unchanged." in page
    assert days(app) == first  # synced_at included: no day was written


def test_a_changed_file_updates_and_replaces_breaks(app, logged_in, company):
    upload(logged_in, CROWDLOG.encode())
    changed = HEADER + "P1001,2025-04-01,09:30,18:30,12:00-12:45/15:00-15:15,,0,\r\n"
    response = upload(logged_in, changed.encode(), name="fix.csv")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 1 attendance day from fix.csv: 0 added, 1 updated, 0 unchanged." in page
    day = days(app)[("P1001", date(2025, 4, 1))]
    assert day["breaks"] == [(720, 765), (900, 915)] and (day["break"], day["work"]) == (60, 480)
    assert day["source"] == "fix.csv"
    assert days(app)[("P1001", date(2025, 4, 2))]["source"] == "crowdlog.csv"  # days not in the file stay


def test_the_same_days_from_another_file_are_tracked_by_that_file(app, logged_in, company):
    upload(logged_in, CROWDLOG.encode())
    response = upload(logged_in, CROWDLOG.encode(), name="april.csv")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 added, 7 updated, 0 unchanged" in page
    assert {day["source"] for day in days(app).values()} == {"april.csv"}


def test_an_imported_file_replaces_a_synced_day(app, logged_in, company):
    with app.app_context():
        integration = Integration(provider="jobcan", name="本社")
        db.session.add(integration)
        db.session.flush()
        taro = db.session.scalar(select(Member).where(Member.code == "P1001"))
        db.session.add(
            AttendanceDay(
                member_id=taro.id,
                work_date=date(2025, 4, 1),
                clock_in=480,
                integration_id=integration.id,
                remote_id="7",
                content_hash="x",
            )
        )
        db.session.commit()
    upload(logged_in, CROWDLOG.encode())
    day = days(app)[("P1001", date(2025, 4, 1))]
    assert (day["clock_in"], day["integration_id"], day["remote_id"], day["source"]) == (
        540,
        None,
        None,
        "crowdlog.csv",
    )


def test_the_source_is_the_files_own_name():
    assert source_name("C:\\Users\\me\\Desktop\\april.csv") == "april.csv"
    assert source_name("/home/me/勤怠 4月.csv") == "勤怠 4月.csv"
    assert source_name("") == "upload.csv"
    assert len(source_name("a" * 300 + ".csv")) == 255


def test_formula_neutralized_cells_lose_only_the_exporters_quote():
    assert unneutralize("'-X1") == "-X1"
    assert unneutralize("'=SUM(A1)") == "=SUM(A1)"
    assert unneutralize("'+81") == "+81"
    assert unneutralize("'@home") == "@home"
    assert unneutralize("'\tTab") == "\tTab"
    assert unneutralize("'\rCR") == "\rCR"
    assert unneutralize("'O'Brien") == "'O'Brien"  # a quote before anything else is the text's own
    assert unneutralize("'") == "'"
    assert unneutralize("-X1") == "-X1"


def test_a_quote_before_ordinary_text_stays_part_of_the_code(app, logged_in, company):
    response = upload(logged_in, (HEADER + "'P1001,2025-04-01,09:00,18:00,,,0,\n").encode())
    assert errors_of(response) == ["Line 2: No member has the employee code 'P1001."]


def test_every_bad_line_is_named_and_nothing_is_imported(app, logged_in, company):
    content = HEADER + (
        "P1001,2025-04-01,09:00,18:00,,,0,\n"  # fine, but the file is refused as a whole
        "P9999,2025-04-01,09:00,18:00,,,0,\n"
        ",2025-04-01,09:00,18:00,,,0,\n"
        "P1001,2025-02-30,09:00,18:00,,,0,\n"
        "P1001,2025-04-02,9時,18:00,,,0,\n"
        "P1001,2025-04-03,09:00,48:00,,,0,\n"
        "P1001,2025-04-04,09:00,18:00,12:00〜13:00,,0,\n"
        "P1001,2025-04-05,09:00,18:00,,,0,半休\n"
        "P1001,2025-04-06,09:00,18:00,,,0,全休/午前休\n"
        "P1001,2025-04-07,09:00,18:00,,,0,時間休(17:00-16:00)\n"
        "P1001,2025-04-08,18:00,09:00,,,0,\n"
        "P1001,2025-04-09,09:00,18:00,12:00-13:00/12:30-13:30,,0,\n"
        "P1001,2025-04-10,09:00,18:00,13:00-12:00,,0,\n"
        "P1001,2025-04-11,00:00,25:00,,,0,\n"
        "Ｐ１００１,2025/04/01,10:00,19:00,,,0,\n"
        "P1002,2025-04-01,09:00,18:00,,,0\n"
    )
    response = upload(logged_in, content.encode())
    assert response.status_code == 200
    assert errors_of(response) == [
        "Line 3: No member has the employee code P9999.",
        "Line 4: 社員コード is empty.",
        "Line 5: 年月日 “2025-02-30” is not a date such as 2025-04-01.",
        "Line 6: 出社 “9時” is not a time such as 09:00 or 26:10.",
        "Line 7: 退社 “48:00” is not a time such as 09:00 or 26:10.",
        "Line 8: 休憩詳細 “12:00〜13:00” is not a list of breaks such as 12:00-13:00/15:00-15:15.",
        "Line 9: 休暇 “半休”: “半休” is not one of 全休, 午前休, 午後休 or 時間休(HH:MM-HH:MM).",
        "Line 10: 休暇 “全休/午前休” has more than one of 全休, 午前休, 午後休.",
        "Line 11: 休暇 “時間休(17:00-16:00)”: an hourly leave ends before it starts.",
        "Line 12: This day cannot be stored: clock-out is before clock-in.",
        "Line 13: This day cannot be stored: breaks overlap.",
        "Line 14: This day cannot be stored: negative work or break minutes, a break ends before it starts.",
        "Line 15: This day cannot be stored: more than 24 hours of work.",
        "Line 16: P1001 on 2025-04-01 is already on line 2.",
        "Line 17: The row has 7 cells; the header has 8.",
    ]
    assert days(app) == {}
    with app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.import")).all() == []


def test_a_submitted_or_approved_day_cannot_be_overwritten(app, logged_in, company):
    upload(logged_in, CROWDLOG.encode())
    before = days(app)
    with app.app_context():
        taro = db.session.scalar(select(Member).where(Member.code == "P1001"))
        db.session.add(TimesheetDay(member_id=taro.id, work_date=date(2025, 4, 2), state=DayState.APPROVED))
        db.session.add(TimesheetDay(member_id=taro.id, work_date=date(2025, 4, 3), state=DayState.DRAFT))
        db.session.commit()
    content = HEADER + (
        "P1001,2025-04-03,09:00,18:00,,,0,\nP1001,2025-04-02,09:00,18:00,,,0,\nP1002,2025-04-02,09:00,18:00,,,0,\n"
    )
    assert errors_of(upload(logged_in, content.encode())) == [
        "Line 3: P1001 on 2025-04-02 is submitted or approved. Reopen the day to change its attendance."
    ]
    assert days(app) == before


@pytest.mark.parametrize(
    "header",
    [
        "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス\n",
        "年月日,社員コード,出社,退社,休憩詳細,日報,ステータス,休暇\n",
        "employee_code,date,clock_in,clock_out,breaks,report,status,leave\n",
    ],
)
def test_the_header_must_be_exactly_crowdlogs(app, logged_in, company, header):
    errors = errors_of(upload(logged_in, (header + "P1001,2025-04-01,09:00,18:00,,,0,\n").encode()))
    assert errors == ["Line 1: The header must be exactly 社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇."]


def test_rows_without_attendance_are_skipped(app, logged_in, company):
    content = HEADER + "P1001,2025-04-05,,,,,0,\nP1001,2025-04-01,09:00,18:00,,,0,\n"
    response = upload(logged_in, content.encode())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 added" in page and "1 rows without attendance were skipped." in page
    assert list(days(app)) == [("P1001", date(2025, 4, 1))]
    errors = errors_of(upload(logged_in, HEADER.encode()))
    assert errors == ["Line 2: The file has a header but no attendance."]


def test_the_attendance_page_links_the_import_and_the_page_lists_imports(app, logged_in, company):
    assert 'href="/admin/attendance/import"' in logged_in.get("/admin/attendance/").get_data(as_text=True)
    upload(logged_in, CROWDLOG.encode(), name="april.csv")
    page = logged_in.get("/admin/attendance/import").get_data(as_text=True)
    assert "<code>社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇</code>" in page
    recent = page.split("Recent imports", 1)[1]
    assert "<td>april.csv</td>" in recent and "admin@example.com" in recent


def test_the_import_function_refuses_without_writing(app, company):
    with app.app_context(), app.test_request_context():
        with pytest.raises(ImportFailed) as refused:
            import_attendance(
                (HEADER + "P1001,2025-04-01,09:00,18:00,,,0,\nP1001,2025-04-01,,,,,0,全休\n").encode(), "x"
            )
        assert [error.line for error in refused.value.errors] == [3]
        db.session.rollback()
        assert db.session.scalars(select(AttendanceDay)).all() == []


def test_cli_import(app, runner, company, tmp_path):
    good = tmp_path / "勤怠.csv"
    good.write_bytes((CROWDLOG + "P1002,2025-04-05,,,,,0,\r\n").encode("cp932"))
    result = runner.invoke(args=["attendance", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 7 attendance days from 勤怠.csv: 7 added, 0 updated, 0 unchanged." in result.output
    assert "1 rows without attendance were skipped." in result.output
    assert {day["source"] for day in days(app).values()} == {"勤怠.csv"}
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "P1002,2025-04-01,09:00,18:00,,,0,\nP1002,2025-04-02,25:99,,,,0,\n", encoding="utf-8")
    result = runner.invoke(args=["attendance", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: Line 3: 出社 “25:99” is not a time such as 09:00 or 26:10." in result.output
    assert "Nothing was imported." in result.output
    assert len(days(app)) == 7
    with app.app_context():
        (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.import"))
        assert entry.actor == "cli" and entry.details["created"] == 7 and entry.details["skipped"] == 1


def test_intervals_are_stored_in_time_order(app, logged_in, company):
    content = (
        HEADER + "P1002,2025-04-01,09:00,18:00,15:00-15:15/12:00-13:00,,0,時間休(16:00-17:00)/時間休(10:00-11:00)\n"
    )
    assert upload(logged_in, content.encode()).status_code == 302
    day = days(app)[("P1002", date(2025, 4, 1))]
    assert day["breaks"] == [(720, 780), (900, 915)] and day["hourly"] == [(600, 660), (960, 1020)]
