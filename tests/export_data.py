"""A small attendance fixture for the export tests, written straight into the database.

November 2026, three members and two integrations:

- P1001 山田 太郎 (開発), from ジョブカン本社: an ordinary day with two breaks stored out of order and 30
  minutes over-booked (差分 −30), a night shift to 26:10, full-day leave, morning leave with an hour off,
  afternoon leave, a missing clock-out; payroll minutes (残業, 深夜, 遅刻, 早退) said on some days, 0 on some,
  not said (None) on others;
- P1002 "=SUM(A1)" (department "-x"), from 支社: one ordinary day booked exactly, no payroll minutes said;
- P1003 佐藤 花子 (営業), imported from a CSV file: a day with two hourly leaves, and one day in December.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField

from hub import hookimpl
from hub.exporters import Exporter
from hub.extensions import db
from hub.models import (
    AttendanceBreak,
    AttendanceDay,
    HourlyLeaveInterval,
    Integration,
    Member,
    Project,
    Settings,
    TimeEntry,
)
from hub.records import LeaveKind

SYNCED_AT = datetime(2026, 11, 30, 20, 5, tzinfo=UTC)  # 2026-12-01 05:05 in Tokyo
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def add_day(
    member: Member,
    day: str,
    clock_in: str | None = None,
    clock_out: str | None = None,
    breaks: tuple[tuple[str, str], ...] = (),
    leave: LeaveKind = LeaveKind.NONE,
    leave_name: str | None = None,
    hourly: tuple[tuple[str, str], ...] = (),
    integration: Integration | None = None,
    source_file: str | None = None,
    booked: tuple[int, ...] = (),
    payroll: tuple[int | None, int | None, int | None, int | None] = (None, None, None, None),
) -> AttendanceDay:
    """One day with its breaks, hourly leaves and man-hours (one time entry per booked amount); ``payroll`` is the
    provider's (残業, 深夜, 遅刻, 早退) minutes, None when not said."""
    start = hm(clock_in) if clock_in else None
    end = hm(clock_out) if clock_out else None
    break_minutes = sum(hm(b) - hm(a) for a, b in breaks)
    hourly_minutes = sum(hm(b) - hm(a) for a, b in hourly)
    work = end - start - break_minutes - hourly_minutes if start is not None and end is not None else None
    record = AttendanceDay(
        member_id=member.id,
        work_date=date.fromisoformat(day),
        clock_in=start,
        clock_out=end,
        work_minutes=work,
        break_minutes=break_minutes,
        leave=leave,
        leave_name=leave_name,
        integration_id=integration.id if integration else None,
        source_file=source_file,
        synced_at=SYNCED_AT,
        overtime_minutes=payroll[0],
        late_night_minutes=payroll[1],
        late_minutes=payroll[2],
        early_leave_minutes=payroll[3],
    )
    record.breaks = [AttendanceBreak(start=hm(a), end=hm(b)) for a, b in breaks]
    record.hourly_leaves = [HourlyLeaveInterval(start=hm(a), end=hm(b)) for a, b in hourly]
    db.session.add(record)
    for number, minutes in enumerate(booked, start=1):
        project = db.session.get(Project, number) or Project(id=number, code=f"PRJ{number}", name=f"案件 {number}")
        db.session.add(project)
        db.session.add(TimeEntry(member_id=member.id, work_date=record.work_date, project=project, minutes=minutes))
    return record


def build_november(app) -> None:
    with app.app_context():
        db.session.add(Settings(id=1))
        head = Integration(provider="jobcan", name="ジョブカン本社", settings={})
        branch = Integration(provider="jobcan", name="支社", settings={})
        yamada = Member(code="P1001", name="山田 太郎", department="開発")
        formula = Member(code="P1002", name="=SUM(A1)", department="-x")
        sato = Member(code="P1003", name="佐藤 花子", department="営業")
        db.session.add_all([head, branch, yamada, formula, sato])
        db.session.flush()
        add_day(
            yamada,
            "2026-11-02",
            "09:00",
            "18:00",
            breaks=(("15:00", "15:15"), ("12:00", "13:00")),
            integration=head,
            booked=(300, 195),
            payroll=(15, 0, 10, 20),
        )
        add_day(
            yamada,
            "2026-11-03",
            "22:00",
            "26:10",
            breaks=(("24:00", "24:45"),),
            integration=head,
            booked=(210,),
            payroll=(0, 250, None, None),
        )
        add_day(yamada, "2026-11-04", leave=LeaveKind.FULL, leave_name="有給休暇", integration=head)
        add_day(
            yamada,
            "2026-11-05",
            "14:00",
            "18:00",
            leave=LeaveKind.AM,
            hourly=(("15:00", "16:00"),),
            integration=head,
            payroll=(0, 0, 5, None),
        )
        add_day(
            yamada,
            "2026-11-06",
            "09:00",
            "13:00",
            leave=LeaveKind.PM,
            integration=head,
            booked=(240,),
            payroll=(None, None, None, 30),
        )
        add_day(yamada, "2026-11-09", "09:00", None, integration=head, booked=(480,))
        add_day(
            formula, "2026-11-02", "09:00", "18:00", breaks=(("12:00", "13:00"),), integration=branch, booked=(480,)
        )
        add_day(
            sato,
            "2026-11-02",
            "09:00",
            "18:00",
            breaks=(("12:00", "13:00"),),
            hourly=(("16:00", "17:00"), ("10:00", "11:00")),
            source_file="勤怠.csv",
        )
        add_day(sato, "2026-12-01", "09:00", "18:00", breaks=(("12:00", "13:00"),), source_file="勤怠.csv")
        db.session.commit()


def integration_id(app, name: str) -> int:
    with app.app_context():
        return db.session.query(Integration.id).filter(Integration.name == name).scalar()


class LayoutForm(FlaskForm):
    layout = SelectField(
        "Layout", choices=[SelectChoice("wide", "wide"), SelectChoice("narrow", "narrow")], default="wide"
    )
    totals = BooleanField("Totals", default=False)


class CountExporter(Exporter):
    """A second exporter, as a third-party plugin would add one: its options become CLI options and form fields."""

    name = "count"
    label = "Count"
    media_type = "text/plain"
    file_extension = "txt"
    options_form = LayoutForm

    def write(self, rows, stream, options) -> None:
        count = sum(1 for _ in rows)
        stream.write(f"{options['layout']} totals={options['totals']} rows={count}\n".encode())


class CountPlugin:
    @hookimpl
    def hub_exporters(self):
        return [CountExporter()]
