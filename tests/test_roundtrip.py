"""The round trip: a crowdlog export imported into a fresh hub and exported again gives identical bytes.

The first hub holds rich synced attendance (a night shift to 26:10, several breaks, full, AM, PM and hourly
leave, AM and hourly leave on one day, a missing clock-out) of members whose codes, names and departments
need quoting or neutralizing in CSV. The second hub knows the same members and nothing else.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AttendanceBreak, AttendanceDay, HourlyLeaveInterval, Integration, Member
from hub.records import LeaveKind
from tests.conftest import make_app

MEMBERS_CSV = (
    "社員コード,名前,部署\r\n"
    'P1001,"工数, 太郎",開発部\r\n'
    'P1002,"Say ""hi"" 町田",=SUM(A1)\r\n'
    "-X1,ダッシュ,-営業\r\n"
    "=Y2,イコール,@本社\r\n"
    "P2000,出勤なし,総務\r\n"
)
PERIOD = ("--from", "2025-04-01", "--to", "2025-04-30")


def hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


# code, day, clock-in, clock-out, breaks, leave, leave name, hourly leaves
DAYS = [
    ("P1001", 1, "09:00", "18:00", ["12:00-13:00"], LeaveKind.NONE, None, []),
    ("P1001", 2, "17:00", "26:10", ["21:00-21:45", "23:30-23:45", "24:30-24:40"], LeaveKind.NONE, None, []),
    ("P1001", 3, None, None, [], LeaveKind.FULL, "有給休暇", []),
    ("P1001", 4, "14:00", "18:00", [], LeaveKind.AM, "午前休", ["16:00-17:00"]),
    ("P1001", 7, "09:00", None, [], LeaveKind.NONE, None, []),
    ("P1002", 1, "09:00", "13:00", [], LeaveKind.PM, "午後休", []),
    (
        "P1002",
        2,
        "09:00",
        "18:00",
        ["12:00-13:00", "15:00-15:15"],
        LeaveKind.NONE,
        None,
        ["10:00-11:00", "16:00-16:30"],
    ),
    ("P1002", 30, None, None, [], LeaveKind.NONE, None, ["09:00-18:00"]),
    ("-X1", 1, "22:00", "31:00", ["26:00-27:00"], LeaveKind.NONE, None, []),
    ("=Y2", 1, "08:00", "17:00", ["12:00-13:00"], LeaveKind.PM, "午後休", ["08:00-09:00"]),
]


def _interval(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return hhmm(start), hhmm(end)


def import_members(app, tmp_path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(MEMBERS_CSV, encoding="utf-8-sig")
    result = app.test_cli_runner().invoke(args=["members", "import", str(path)])
    assert result.exit_code == 0, result.output


def add_synced_days(app) -> None:
    """The days as a sync from Jobcan stores them."""
    with app.app_context():
        integration = Integration(provider="jobcan", name="本社 Jobcan")
        db.session.add(integration)
        db.session.flush()
        members = {member.code: member for member in db.session.scalars(select(Member))}
        for number, (code, day, clock_in, clock_out, breaks, leave, leave_name, hourly) in enumerate(DAYS):
            attendance = AttendanceDay(
                member_id=members[code].id,
                work_date=date(2025, 4, day),
                clock_in=hhmm(clock_in) if clock_in else None,
                clock_out=hhmm(clock_out) if clock_out else None,
                work_minutes=480,
                break_minutes=60,
                leave=leave,
                leave_name=leave_name,
                # Jobcan's payroll minutes: not in the crowdlog format, so they change none of its bytes.
                overtime_minutes=number % 3 * 15,
                late_night_minutes=0,
                integration_id=integration.id,
                remote_id=str(number),
                content_hash=f"hash{number}",
            )
            attendance.breaks = [AttendanceBreak(start=s, end=e) for s, e in map(_interval, breaks)]
            attendance.hourly_leaves = [
                HourlyLeaveInterval(start=s, end=e, name="時間休") for s, e in map(_interval, hourly)
            ]
            db.session.add(attendance)
        db.session.commit()


def export(app, path, *options: str) -> bytes:
    result = app.test_cli_runner().invoke(
        args=["export", "csv", *PERIOD, "--format", "crowdlog", *options, "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    return path.read_bytes()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_export_import_export_gives_identical_bytes(tmp_path, encoding):
    first = make_app(tmp_path / "first")
    import_members(first, tmp_path)
    add_synced_days(first)
    exported = export(first, tmp_path / "kintai.csv", "--encoding", encoding)

    text = exported.decode(encoding)
    lines = text.split("\r\n")
    assert lines[0] == "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇"
    assert len(lines) == 1 + len(DAYS) + 1 and lines[-1] == ""  # CRLF after every row
    assert "P1001,2025-04-02,17:00,26:10,21:00-21:45/23:30-23:45/24:30-24:40,,0," in lines
    assert "P1001,2025-04-04,14:00,18:00,,,0,午前休/時間休(16:00-17:00)" in lines
    assert "P1001,2025-04-07,09:00,,,,0," in lines
    assert "'-X1,2025-04-01,22:00,31:00,26:00-27:00,,0," in lines
    assert "'=Y2,2025-04-01,08:00,17:00,12:00-13:00,,0,午後休/時間休(08:00-09:00)" in lines

    second = make_app(tmp_path / "second")
    import_members(second, tmp_path)
    result = second.test_cli_runner().invoke(args=["attendance", "import", str(tmp_path / "kintai.csv")])
    assert result.exit_code == 0, result.output
    assert f"Imported {len(DAYS)} attendance days from kintai.csv: {len(DAYS)} added" in result.output

    again = export(second, tmp_path / "again.csv", "--encoding", encoding)
    assert again == exported

    with second.app_context():
        stored = db.session.scalars(select(AttendanceDay)).all()
        assert len(stored) == len(DAYS)
        assert {(day.source_file, day.integration_id, day.remote_id) for day in stored} == {("kintai.csv", None, None)}
        night = db.session.scalar(select(AttendanceDay).where(AttendanceDay.clock_out == hhmm("26:10")))
        assert night.work_minutes == hhmm("26:10") - hhmm("17:00") - 70

    daily = tmp_path / "daily.csv"
    result = second.test_cli_runner().invoke(
        args=["export", "csv", *PERIOD, "--format", "daily", "--encoding", "utf-8", "-o", str(daily)]
    )
    assert result.exit_code == 0, result.output
    rows = daily.read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == len(DAYS) and all(",kintai.csv," in row for row in rows)  # 取込元: the file

    # Importing the same file again changes nothing, and the export stays the same.
    result = second.test_cli_runner().invoke(args=["attendance", "import", str(tmp_path / "kintai.csv")])
    assert f"0 added, 0 updated, {len(DAYS)} unchanged" in result.output
    assert export(second, tmp_path / "third.csv", "--encoding", encoding) == exported
