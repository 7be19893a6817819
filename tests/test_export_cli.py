"""`hub export csv`: standard output or -o FILE (complete or absent), filters, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditLog, Member
from tests.conftest import make_app
from tests.export_data import CountPlugin, build_november

BOM = b"\xef\xbb\xbf"
HUB = Path(sys.executable).parent / "hub"
CROWDLOG_HEADER = "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇\r\n"
NOVEMBER = ["--from", "2026-11-01", "--to", "2026-11-30"]


@pytest.fixture
def november(app):
    build_november(app)
    return app


def export(runner, *args):
    return runner.invoke(args=["export", "csv", *args])


def test_stdout_by_default_crowdlog_utf8_with_bom(november, runner):
    result = export(runner, *NOVEMBER)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(BOM + CROWDLOG_HEADER.encode())
    assert result.stdout_bytes.count(b"\r\n") == 9
    assert "Exported 8 row(s)." in result.stderr


def test_output_file_with_format_encoding_and_filters(november, runner, tmp_path):
    target = tmp_path / "out" / "daily.csv"
    target.parent.mkdir()
    args = [*NOVEMBER, "--format", "daily", "--encoding", "cp932", "--integration", "ジョブカン本社"]
    result = export(runner, *args, "--department", "開発", "--member", "P1001", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b"" and f"Exported 6 row(s) to {target}." in result.stderr
    lines = target.read_bytes().decode("cp932").split("\r\n")
    assert lines[0].startswith("社員コード,名前,部署,年月日,")
    assert len(lines) == 8 and all(line.startswith("P1001,山田 太郎,開発,") for line in lines[1:-1])
    assert lines[2].endswith(",210,-5,○,ジョブカン本社,2026-12-01 05:05:00,0,250,")  # ✓ is ○ in CP932
    assert os.listdir(target.parent) == ["daily.csv"]  # no temporary file left beside it


def test_members_can_be_repeated_or_comma_separated(november, runner):
    result = export(runner, *NOVEMBER, "--member", "P1003", "--member", "P1002,Ｐ１００１", "--encoding", "utf-8")
    codes = [line.split(",")[0] for line in result.stdout_bytes.decode().split("\r\n")[1:-1]]
    assert codes == ["P1001"] * 6 + ["P1002", "P1003"]


def test_monthly(november, runner):
    result = export(runner, *NOVEMBER, "--format", "monthly", "--encoding", "utf-8", "--member", "P1001")
    assert result.stdout_bytes.decode() == (
        "社員コード,名前,部署,年月,出勤日数,勤務(分),休暇日数,工数(分),差分(分),"
        "残業(分),残業(H:MM),深夜(分),深夜(H:MM),遅刻早退(分),遅刻早退(H:MM)\r\n"
        "P1001,山田 太郎,開発,2026-11,5,1090,2,1425,-335,15,0:15,250,4:10,65,1:05\r\n"
    )


def test_the_export_is_audited_as_the_cli(november, runner):
    export(runner, *NOVEMBER, "--member", "P1002")
    with november.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
        assert entry.actor == "cli" and entry.details["rows"] == 1 and entry.details["filters"]["members"] == ["P1002"]


def test_a_cp932_failure_exits_1_and_leaves_no_file(november, runner, tmp_path):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1001")).name = "山田 😀"
        db.session.commit()
    target = tmp_path / "export.csv"
    result = export(runner, *NOVEMBER, "--format", "daily", "--encoding", "cp932", "-o", str(target))
    assert result.exit_code == 1
    assert "Nothing was exported" in result.stderr and "P1001 山田 😀" in result.stderr and "U+1F600" in result.stderr
    assert not target.exists() and not list(tmp_path.glob(".export.csv.*"))


def test_a_failure_keeps_an_existing_file_untouched(november, runner, tmp_path):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1001")).department = "🏢"
        db.session.commit()
    target = tmp_path / "export.csv"
    target.write_bytes(b"yesterday's export")
    result = export(runner, *NOVEMBER, "--format", "monthly", "--encoding", "cp932", "-o", str(target))
    assert result.exit_code == 1 and "department" in result.stderr
    assert target.read_bytes() == b"yesterday's export"


def test_stdout_failure_exits_1(november, runner):
    with november.app_context():
        db.session.scalar(select(Member).where(Member.code == "P1003")).name = "𠮷"
        db.session.commit()
    result = export(runner, *NOVEMBER, "--format", "daily", "--encoding", "cp932")
    assert result.exit_code == 1 and "Export failed" in result.stderr and "𠮷" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01"], "Missing option '--to'"),
        (["--from", "2026/11/01", "--to", "2026-11-30"], "use YYYY-MM-DD"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "must not be before the first day"),
        ([*NOVEMBER, "--format", "weekly"], "'weekly' is not one of 'crowdlog', 'daily', 'monthly'"),
        ([*NOVEMBER, "--encoding", "latin-1"], "'latin-1' is not one of 'utf-8-sig', 'utf-8', 'cp932'"),
        ([*NOVEMBER, "--integration", "nope"], "no integration named nope"),
        ([*NOVEMBER, "--department", "nope"], "no member is in department nope"),
        ([*NOVEMBER, "--member", "P1001", "--member", "P9"], "no member has the code(s) P9"),
    ],
)
def test_bad_arguments_exit_2(november, runner, tmp_path, args, message):
    target = tmp_path / "never.csv"
    result = export(runner, *args, "-o", str(target))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout_bytes == b""
    assert not target.exists()


def test_help_shows_the_design_options(november, runner):
    text = runner.invoke(args=["export", "csv", "--help"]).output
    for option in ("--from", "--to", "--format [crowdlog|daily|monthly]", "--encoding [utf-8-sig|utf-8|cp932]"):
        assert option in text
    for option in ("--integration NAME", "--department X", "--member CODE", "-o, --output FILE"):
        assert option in text
    assert "csv" in runner.invoke(args=["export", "--help"]).output


def test_the_console_script(tmp_path):
    """`hub export csv` as an admin's script runs it: the real console script, its stdout and its exit code."""
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'instance' / 'hub.sqlite3'}")
    build_november(app)
    with app.app_context():
        db.engine.dispose()
    env = dict(os.environ)  # HUB_INSTANCE_PATH is tmp_path/instance: the default database is the one above
    result = subprocess.run([str(HUB), "export", "csv", *NOVEMBER, "--member", "P1002"], capture_output=True, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == BOM + (CROWDLOG_HEADER + "P1002,2026-11-02,09:00,18:00,12:00-13:00,,0,\r\n").encode()
    result = subprocess.run([str(HUB), "export", "csv", "--from", "x", "--to", "y"], capture_output=True, env=env)
    assert result.returncode == 2 and result.stdout == b""


def test_every_installed_exporter_gets_a_command_with_its_options(tmp_path):
    app = make_app(tmp_path, plugins=[CountPlugin()])
    build_november(app)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["export", "--help"]).output
    assert "count" in listed and "csv" in listed
    help_text = runner.invoke(args=["export", "count", "--help"]).output
    assert "--layout [wide|narrow]" in help_text and "--totals / --no-totals" in help_text
    result = runner.invoke(args=["export", "count", *NOVEMBER, "--layout", "narrow", "--totals", "--member", "P1001"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b"narrow totals=True rows=6\n"
    assert runner.invoke(args=["export", "count", *NOVEMBER]).stdout_bytes == b"wide totals=False rows=8\n"
    assert runner.invoke(args=["export", "count", *NOVEMBER, "--layout", "tall"]).exit_code == 2


def test_implausible_dates_are_bad_arguments(november, runner):
    result = export(runner, "--from", "0001-01-01", "--to", "0001-01-31")
    assert result.exit_code == 2 and "0001-01-01 is outside 1900-01-01" in result.output
