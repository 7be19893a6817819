"""The CSV exporter's formats, byte for byte, and the export core under it: rows, filters, streaming, audit."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, text

from hub.cells import text_cell
from hub.crowdlog import row_cells
from hub.exporters import ExportDay, ExportError
from hub.exports.query import ExportFilter, ExportRows
from hub.exports.service import run_export
from hub.extensions import db
from hub.marks import Mark
from hub.models import AttendanceBreak, AttendanceDay, AuditLog, Member
from hub.plugins import exporters
from hub.records import LeaveKind
from tests.export_data import NOVEMBER, SYNCED_AT, add_day, build_november, integration_id

BOM = b"\xef\xbb\xbf"
CROWDLOG = (
    "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇\r\n"
    "P1001,2026-11-02,09:00,18:00,12:00-13:00/15:00-15:15,,0,\r\n"
    "P1001,2026-11-03,22:00,26:10,24:00-24:45,,0,\r\n"
    "P1001,2026-11-04,,,,,0,全休\r\n"
    "P1001,2026-11-05,14:00,18:00,,,0,午前休/時間休(15:00-16:00)\r\n"
    "P1001,2026-11-06,09:00,13:00,,,0,午後休\r\n"
    "P1001,2026-11-09,09:00,,,,0,\r\n"
    "P1002,2026-11-02,09:00,18:00,12:00-13:00,,0,\r\n"
    "P1003,2026-11-02,09:00,18:00,12:00-13:00,,0,時間休(10:00-11:00)/時間休(16:00-17:00)\r\n"
)
DAILY_HEADER = (
    "社員コード,名前,部署,年月日,出社,退社,休憩詳細,勤務(分),休憩(分),休暇,休暇名,工数(分),差分(分),判定,取込元,同期日時,"
    "残業(分),深夜(分),遅刻早退(分)\r\n"
)
DAILY = DAILY_HEADER + (
    "P1001,山田 太郎,開発,2026-11-02,09:00,18:00,12:00-13:00/15:00-15:15,465,75,,,495,-30,△,ジョブカン本社,2026-12-01 05:05:00,15,0,30\r\n"
    "P1001,山田 太郎,開発,2026-11-03,22:00,26:10,24:00-24:45,205,45,,,210,-5,✓,ジョブカン本社,2026-12-01 05:05:00,0,250,\r\n"
    "P1001,山田 太郎,開発,2026-11-04,,,,,0,全休,有給休暇,0,,☕,ジョブカン本社,2026-12-01 05:05:00,,,\r\n"
    "P1001,山田 太郎,開発,2026-11-05,14:00,18:00,,180,0,午前休/時間休(15:00-16:00),,0,180,△,ジョブカン本社,2026-12-01 05:05:00,0,0,5\r\n"
    "P1001,山田 太郎,開発,2026-11-06,09:00,13:00,,240,0,午後休,,240,0,✓,ジョブカン本社,2026-12-01 05:05:00,,,30\r\n"
    "P1001,山田 太郎,開発,2026-11-09,09:00,,,,0,,,480,,△,ジョブカン本社,2026-12-01 05:05:00,,,\r\n"
    "P1002,'=SUM(A1),'-x,2026-11-02,09:00,18:00,12:00-13:00,480,60,,,480,0,✓,支社,2026-12-01 05:05:00,,,\r\n"
    "P1003,佐藤 花子,営業,2026-11-02,09:00,18:00,12:00-13:00,360,60,時間休(10:00-11:00)/時間休(16:00-17:00),,0,360,△,勤怠.csv,2026-12-01 05:05:00,,,\r\n"
)
MONTHLY_HEADER = (
    "社員コード,名前,部署,年月,出勤日数,勤務(分),休暇日数,工数(分),差分(分),"
    "残業(分),残業(H:MM),深夜(分),深夜(H:MM),遅刻早退(分),遅刻早退(H:MM)\r\n"
)
MONTHLY = MONTHLY_HEADER + (
    "P1001,山田 太郎,開発,2026-11,5,1090,2,1425,-335,15,0:15,250,4:10,65,1:05\r\n"
    "P1002,'=SUM(A1),'-x,2026-11,1,480,0,480,0,,,,,,\r\n"
    "P1003,佐藤 花子,営業,2026-11,1,360,0,0,360,,,,,,\r\n"
)


@pytest.fixture
def november(app):
    build_november(app)
    return app


def export(app, fmt="crowdlog", encoding="utf-8-sig", start=NOVEMBER[0], end=NOVEMBER[1], **filters) -> bytes:
    with app.app_context():
        stream = io.BytesIO()
        options = {"format": fmt, "encoding": encoding}
        run_export(exporters()["csv"], ExportFilter(start, end, **filters), options, stream)
        return stream.getvalue()


def keys(content: bytes) -> list[tuple[str, str]]:
    """(社員コード, 年月日) of each data line of a crowdlog export."""
    lines = content.removeprefix(BOM).decode("utf-8").split("\r\n")[1:-1]
    return [tuple(line.split(",")[:2]) for line in lines]


# --- the three formats, byte for byte -----------------------------------------------------------------


def test_crowdlog_is_exact_with_bom_and_crlf(november):
    # Night shift 26:10, breaks in time order though stored out of order, every leave kind, a missing
    # clock-out, 日報 empty and ステータス 0.
    assert export(november) == BOM + CROWDLOG.encode("utf-8")


def test_daily_has_names_minutes_man_hours_marks_and_source(november):
    # 差分 −30 stays a number; the name =SUM(A1) and the department -x are neutralized; sync time in Tokyo.
    assert export(november, "daily") == BOM + DAILY.encode("utf-8")


def test_daily_payroll_minutes_are_empty_when_not_said_and_late_plus_early_adds_what_is_known(november):
    rows = {line.split(",")[3]: line.split(",")[-3:] for line in DAILY.splitlines()[1:] if line.startswith("P1001")}
    assert rows["2026-11-02"] == ["15", "0", "30"]  # 遅刻 10 + 早退 20; a said 0 stays 0
    assert rows["2026-11-04"] == ["", "", ""]  # nothing said: empty, not 0
    assert rows["2026-11-05"] == ["0", "0", "5"]  # 遅刻 5 + 早退 not said = 5
    assert rows["2026-11-06"] == ["", "", "30"]  # 遅刻 not said + 早退 30 = 30
    assert export(november, "daily", "utf-8").decode() == DAILY


def test_monthly_payroll_sums_in_minutes_and_h_mm_empty_when_no_day_said_them(november):
    # P1001: 残業 15 + 0 + 0, 深夜 0 + 250 + 0, 遅刻早退 (10 + 20) + 5 + 30; P1002 and P1003 said none.
    lines = export(november, "monthly", "utf-8").decode().splitlines()
    assert lines[1].split(",")[-6:] == ["15", "0:15", "250", "4:10", "65", "1:05"]
    assert lines[2].split(",")[-6:] == lines[3].split(",")[-6:] == [""] * 6


def test_crowdlog_ignores_payroll_minutes(november):
    assert b"250" not in export(november)  # 深夜 250 of 2026-11-03 is nowhere in the crowdlog file
    assert export(november) == BOM + CROWDLOG.encode("utf-8")


def test_monthly_aggregates_days_leave_and_man_hours_per_member(november):
    # P1001: 5 days with a clock-in, 全休 1 + 午前休 0.5 + 午後休 0.5 = 2 leave days, 1090 − 1425 = −335.
    assert export(november, "monthly") == BOM + MONTHLY.encode("utf-8")


def test_monthly_starts_a_row_per_month(november):
    content = export(november, "monthly", "utf-8", end=date(2026, 12, 31), member_codes=("P1003",))
    assert content.decode() == MONTHLY_HEADER + (
        "P1003,佐藤 花子,営業,2026-11,1,360,0,0,360,,,,,,\r\nP1003,佐藤 花子,営業,2026-12,1,480,0,0,480,,,,,,\r\n"
    )


def test_utf8_without_bom_keeps_crlf(november):
    content = export(november, "crowdlog", "utf-8")
    assert content == CROWDLOG.encode("utf-8")
    assert content.count(b"\r\n") == content.count(b"\n") == 9


def test_an_empty_period_gives_the_header_alone(november):
    content = export(november, start=date(2027, 1, 1), end=date(2027, 1, 31))
    assert content == BOM + "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇\r\n".encode()


# --- CP932 --------------------------------------------------------------------------------------------


def test_cp932_bytes_with_marks_it_can_hold(november):
    content = export(november, "daily", "cp932")
    assert not content.startswith(BOM)
    # ✓ and ☕ are not in CP932: ○ and 休 stand in for them; △ is.
    expected = DAILY.replace("✓", "○").replace("☕", "休")
    assert content == expected.encode("cp932")
    assert "山田 太郎".encode("cp932") in content


def test_cp932_crowdlog(november):
    assert export(november, "crowdlog", "cp932") == CROWDLOG.encode("cp932")


@pytest.mark.parametrize("fmt", ["daily", "monthly"])
def test_cp932_refuses_a_name_it_cannot_hold_naming_member_and_character(november, fmt):
    with november.app_context():
        member = Member(code="P1004", name="𠮷田 一郎", department="開発")
        db.session.add(member)
        db.session.flush()
        add_day(member, "2026-11-02", "09:00", "18:00")
        db.session.commit()
    with pytest.raises(ExportError) as caught:
        export(november, fmt, "cp932")
    message = str(caught.value)
    assert "P1004" in message and "𠮷田 一郎" in message and "𠮷" in message and "U+20BB7" in message
    assert "name" in message and "CP932" in message


def test_cp932_refuses_an_emoji_in_a_leave_name_and_names_the_field(november):
    with november.app_context():
        member = db.session.scalar(select(Member).where(Member.code == "P1003"))
        add_day(member, "2026-11-04", leave=LeaveKind.FULL, leave_name="誕生日休暇🎂")
        db.session.commit()
    assert b"\xf0\x9f\x8e\x82" in export(november, "daily", "utf-8")  # UTF-8 holds it
    with pytest.raises(ExportError, match=r"P1003 佐藤 花子: .*🎂 \(U\+1F382\) in the leave name"):
        export(november, "daily", "cp932")


def test_cp932_error_writes_no_question_mark(november):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1001")).name = "山田 😀"
        db.session.commit()
    stream = io.BytesIO()
    with november.app_context(), pytest.raises(ExportError):
        run_export(exporters()["csv"], ExportFilter(*NOVEMBER), {"format": "daily", "encoding": "cp932"}, stream)
    assert b"?" not in stream.getvalue()


# --- neutralization -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+81 3", "'+81 3"),
        ("-x", "'-x"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("山田", "山田"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_text_cells_that_start_like_a_formula_get_a_quote(value, cell):
    assert text_cell(value) == cell


def test_a_code_that_starts_like_a_formula_is_neutralized_too(november):
    with november.app_context():
        member = Member(code="-1", name="負", department=None)
        db.session.add(member)
        db.session.flush()
        add_day(member, "2026-11-02", "09:00", "10:00")
        db.session.commit()
    assert "'-1,2026-11-02,09:00,10:00,,,0,\r\n" in export(november, "crowdlog", "utf-8").decode()


def test_crowdlog_is_a_pure_function_of_its_fields():
    cells = row_cells("P1", date(2026, 11, 3), 1320, 1570, ((720, 780), (900, 915)), LeaveKind.AM, ((600, 660),))
    assert cells == [
        "P1",
        "2026-11-03",
        "22:00",
        "26:10",
        "12:00-13:00/15:00-15:15",
        "",
        0,
        "午前休/時間休(10:00-11:00)",
    ]


# --- filters ------------------------------------------------------------------------------------------


def test_period_filter_is_inclusive(november):
    content = export(november, start=date(2026, 11, 3), end=date(2026, 11, 5))
    assert keys(content) == [("P1001", "2026-11-03"), ("P1001", "2026-11-04"), ("P1001", "2026-11-05")]
    content = export(november, start=date(2026, 11, 30), end=date(2026, 12, 1))
    assert keys(content) == [("P1003", "2026-12-01")]


def test_integration_filter(november):
    content = export(november, integration_id=integration_id(november, "支社"))
    assert keys(content) == [("P1002", "2026-11-02")]


def test_department_filter(november):
    assert keys(export(november, department="営業")) == [("P1003", "2026-11-02")]
    assert keys(export(november, department="-x")) == [("P1002", "2026-11-02")]


def test_member_filter(november):
    content = export(november, member_codes=("P1003", "P1002"))
    assert keys(content) == [("P1002", "2026-11-02"), ("P1003", "2026-11-02")]


def test_filters_combine(november):
    content = export(november, integration_id=integration_id(november, "ジョブカン本社"), member_codes=("P1002",))
    assert keys(content) == []


def test_rows_are_ordered_by_code_then_date_whatever_the_insert_order(app):
    with app.app_context():
        later = Member(code="B2", name="後")
        earlier = Member(code="A1", name="前")
        db.session.add_all([later, earlier])  # B2 gets the smaller id
        db.session.flush()
        for member in (later, earlier):
            for day in ("2026-11-03", "2026-11-01", "2026-11-02"):
                add_day(member, day, "09:00", "18:00", breaks=(("12:00", "13:00"),))
        db.session.commit()
    content = export(app)
    assert keys(content) == [(code, f"2026-11-0{d}") for code in ("A1", "B2") for d in (1, 2, 3)]
    assert content.count(b"12:00-13:00") == 6


def test_order_and_merge_do_not_depend_on_the_database_collation(app):
    """Codes in code point order with their breaks and hourly leave, also where the database collates by locale."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # as a database created with a Japanese or English locale
            db.session.execute(text('ALTER TABLE members ALTER COLUMN code TYPE varchar(64) COLLATE "en-US-x-icu"'))
        for code in ("b1", "A2", "-3", "Z4", "a5"):
            member = Member(code=code, name=code)
            db.session.add(member)
            db.session.flush()
            add_day(member, "2026-11-02", "09:00", "18:00", breaks=(("12:00", "13:00"),), hourly=(("16:00", "17:00"),))
        db.session.commit()
    lines = export(app, "crowdlog", "utf-8").decode().split("\r\n")[1:-1]
    assert [line.split(",")[0] for line in lines] == ["'-3", "A2", "Z4", "a5", "b1"]
    assert all(line.endswith(",09:00,18:00,12:00-13:00,,0,時間休(16:00-17:00)") for line in lines), lines


# --- the rows the core hands to exporters -------------------------------------------------------------


def test_intervals_of_days_the_day_query_did_not_return_are_skipped(november, monkeypatch):
    """As if breaks and hourly leave of other days were written between the queries: the merge skips them."""
    import hub.exports.query as query

    with november.app_context():
        yamada, formula = (db.session.scalar(select(Member).where(Member.code == code)) for code in ("P1001", "P1002"))
        add_day(yamada, "2026-10-31", "09:00", "18:00", breaks=(("10:00", "10:10"),), hourly=(("11:00", "12:00"),))
        add_day(formula, "2026-10-30", "09:00", "18:00", breaks=(("10:00", "10:20"),), hourly=(("14:00", "15:00"),))
        db.session.commit()
    for name in ("_break_query", "_hourly_leave_query"):
        original = getattr(query, name)
        monkeypatch.setattr(query, name, lambda flt, original=original: original(replace(flt, start=date(2026, 1, 1))))
    assert export(november) == BOM + CROWDLOG.encode("utf-8")


def test_export_rows_are_typed_days_with_marks_and_local_sync_time(november):
    with november.app_context():
        rows = list(ExportRows(ExportFilter(*NOVEMBER, member_codes=("P1001",)), threshold=15, timezone="Asia/Tokyo"))
    first = rows[0]
    assert isinstance(first, ExportDay)
    assert (first.member_code, first.member_name, first.department, first.work_date) == (
        "P1001",
        "山田 太郎",
        "開発",
        date(2026, 11, 2),
    )
    assert first.breaks == ((720, 780), (900, 915)) and first.hourly_leaves == ()
    assert (first.work_minutes, first.break_minutes, first.manhours, first.difference) == (465, 75, 495, -30)
    assert first.mark is Mark.MISMATCH and first.integration == "ジョブカン本社" and first.source_file is None
    assert first.synced_at == SYNCED_AT and first.synced_at.utcoffset() == timedelta(hours=9)
    assert [row.mark for row in rows] == [
        Mark.MISMATCH,
        Mark.MATCH,
        Mark.LEAVE,
        Mark.MISMATCH,
        Mark.MATCH,
        Mark.MISMATCH,
    ]
    assert rows[3].leave is LeaveKind.AM and rows[3].hourly_leaves == ((900, 960),)


def test_the_mark_follows_the_threshold_setting(november):
    with november.app_context():
        rows = list(ExportRows(ExportFilter(*NOVEMBER, member_codes=("P1001",)), threshold=31, timezone="UTC"))
    assert rows[0].difference == -30 and rows[0].mark is Mark.MATCH  # |−30| < 31
    assert rows[0].synced_at.utcoffset() == timedelta(0)


class WatchedStream(io.BytesIO):
    """A binary stream that notes how many rows had been read from the core when each write arrived."""

    def __init__(self, rows: ExportRows):
        super().__init__()
        self.rows = rows
        self.counts: list[int] = []

    def write(self, data) -> int:
        self.counts.append(self.rows.count)
        return super().write(data)


def fill(app, members: int, days: int) -> None:
    """``members`` × ``days`` days from 2026-01-01, each with a break, inserted in bulk."""
    with app.app_context():
        db.session.execute(insert(Member), [{"code": f"M{n:04d}", "name": f"社員 {n}"} for n in range(members)])
        ids = db.session.scalars(select(Member.id)).all()
        db.session.execute(
            insert(AttendanceDay),
            [
                {"member_id": member_id, "work_date": date(2026, 1, 1) + timedelta(days=offset), "clock_in": 540}
                for member_id in ids
                for offset in range(days)
            ],
        )
        day_ids = db.session.scalars(select(AttendanceDay.id)).all()
        db.session.execute(
            insert(AttendanceBreak), [{"day_id": day_id, "start": 720, "end": 780} for day_id in day_ids]
        )
        db.session.commit()


@pytest.mark.parametrize("fmt", ["crowdlog", "daily", "monthly"])
def test_export_is_streamed_not_collected_first(app, fmt):
    """Bytes reach the stream while the core is still reading rows: neither side collects them first."""
    fill(app, members=600, days=10)  # 6,000 days; 600 monthly rows, so that even monthly fills a few buffers
    with app.app_context():
        rows = ExportRows(ExportFilter(date(2026, 1, 1), date(2026, 12, 31)), threshold=15, timezone="Asia/Tokyo")
        stream = WatchedStream(rows)
        exporters()["csv"].write(rows, stream, {"format": fmt, "encoding": "utf-8-sig"})
    assert rows.count == 6000
    data_writes = [count for count in stream.counts if count > 0]
    assert data_writes and data_writes[0] < 6000 / 2, stream.counts
    assert len(data_writes) > 2


def test_a_half_read_export_releases_its_cursors(app):
    fill(app, members=3, days=10)
    with app.app_context():
        rows = ExportRows(ExportFilter(date(2026, 1, 1), date(2026, 1, 31)), threshold=15, timezone="UTC")
        iterator = iter(rows)
        assert next(iterator).work_date == date(2026, 1, 1)
        assert len(rows._results) == 3
        rows.close()
        assert rows._results == [] and rows.count == 1


# --- audit ----------------------------------------------------------------------------------------------


def test_every_export_is_audited_with_options_filters_and_row_count(november):
    export(november, "daily", "utf-8", integration_id=integration_id(november, "ジョブカン本社"), department="開発")
    with november.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
        assert entry.actor == "cli" and entry.target == "csv"
        assert entry.details == {
            "exporter": "csv",
            "options": {"format": "daily", "encoding": "utf-8"},
            "filters": {
                "from": "2026-11-01",
                "to": "2026-11-30",
                "integration_id": integration_id(november, "ジョブカン本社"),
                "integration": "ジョブカン本社",
                "department": "開発",
                "members": [],
            },
            "rows": 6,
        }


def test_a_failed_export_is_not_audited(november):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1002")).name = "🙂"
        db.session.commit()
    with pytest.raises(ExportError):
        export(november, "daily", "cp932")
    with november.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).all() == []


def test_cp932_only_checks_what_the_format_writes(november):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1002")).name = "🙂"
        db.session.commit()
    # crowdlog writes codes, not names: the emoji in the name does not stop it.
    assert export(november, "crowdlog", "cp932") == CROWDLOG.encode("cp932")


def test_unknown_options_are_refused(november):
    with pytest.raises(ExportError, match="Unknown CSV format"):
        export(november, "weekly")
    with pytest.raises(ExportError, match="Unknown encoding"):
        export(november, "daily", "latin-1")
