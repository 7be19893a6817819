"""The day judgement (hub.marks): its rules, and that every page and export judges each day the same way."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from hub.exports.query import ExportFilter
from hub.exports.service import run_export
from hub.extensions import db
from hub.marks import Judgement, Mark, MonthTotals, judge_day, known_sum
from hub.models import (
    AttendanceBreak,
    AttendanceDay,
    AuditLog,
    HourlyLeaveInterval,
    Member,
    Project,
    TimeEntry,
)
from hub.plugins import exporters
from hub.records import LeaveKind
from hub.settings.service import current_settings
from hub.timesheets.days import member_month, month_totals
from hub.timesheets.report import month_report
from hub_plugins.csv_export.formats import MARKS

# --- the rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock_in", "clock_out", "work", "manhours", "leave", "has_attendance", "expected"),
    [
        (540, 1080, 480, 480, LeaveKind.NONE, True, Mark.MATCH),
        (540, 1080, 480, 466, LeaveKind.NONE, True, Mark.MATCH),  # 14 minutes apart: under the threshold
        (540, 1080, 480, 465, LeaveKind.NONE, True, Mark.MISMATCH),  # 15 minutes: "15分以上の差分" is an error
        (540, 1080, 480, 495, LeaveKind.NONE, True, Mark.MISMATCH),
        (None, None, 0, 0, LeaveKind.FULL, True, Mark.LEAVE),
        (None, None, None, 480, LeaveKind.FULL, True, Mark.LEAVE),
        (540, None, None, 480, LeaveKind.NONE, True, Mark.MISMATCH),  # a missing clock-out cannot match
        (540, None, 0, 0, LeaveKind.NONE, True, Mark.MISMATCH),  # … even when the provider says 0 minutes
        (540, None, 480, 480, LeaveKind.NONE, True, Mark.MISMATCH),  # … or exactly the booked time
        (None, 1080, 480, 480, LeaveKind.NONE, True, Mark.MISMATCH),  # a clock-out without a clock-in neither
        (840, 1080, 240, 240, LeaveKind.AM, True, Mark.MATCH),
        (1320, 1570, 250, 250, LeaveKind.NONE, True, Mark.MATCH),  # a night shift to 26:10
        (None, None, None, 0, LeaveKind.NONE, False, Mark.NONE),
        (None, None, None, 60, LeaveKind.NONE, False, Mark.MISMATCH),  # booked without attendance
    ],
)
def test_mark_follows_the_threshold(clock_in, clock_out, work, manhours, leave, has_attendance, expected):
    judgement = judge_day(clock_in, clock_out, work, leave, manhours, 15, has_attendance=has_attendance)
    assert judgement.mark is expected


def test_zero_threshold_still_matches_equal_times():
    assert judge_day(540, 1080, 480, LeaveKind.NONE, 480, 0).mark is Mark.MATCH
    assert judge_day(540, 1080, 480, LeaveKind.NONE, 479, 0).mark is Mark.MISMATCH


def test_a_missing_clock_out_has_no_work_time_and_no_difference():
    assert judge_day(540, None, 0, LeaveKind.NONE, 0, 15) == Judgement(None, None, Mark.MISMATCH)
    assert judge_day(None, 1080, 480, LeaveKind.NONE, 480, 15) == Judgement(None, None, Mark.MISMATCH)


def test_a_day_of_leave_only_is_judged_by_its_reported_work():
    # 午前休 with no clock at all: the provider's own work minutes count, as they always did.
    assert judge_day(None, None, 240, LeaveKind.AM, 240, 15) == Judgement(240, 0, Mark.MATCH)


def test_man_hours_without_attendance_differ_by_all_of_them():
    assert judge_day(None, None, None, LeaveKind.NONE, 90, 15, has_attendance=False) == Judgement(
        None, -90, Mark.MISMATCH
    )


def test_initial_values_are_judged_once_man_hours_are_booked():
    assert judge_day(540, 1080, 480, LeaveKind.NONE, 0, 15, initial=True) == Judgement(480, None, Mark.NONE)
    assert judge_day(540, 1080, 480, LeaveKind.NONE, 420, 15, initial=True) == Judgement(480, 60, Mark.MISMATCH)


def test_month_totals_count_worked_days_leave_and_mismatches():
    totals = MonthTotals()
    days = [
        (540, 1080, 480, LeaveKind.NONE, 480, True),
        (840, 1080, 240, LeaveKind.AM, 0, True),
        (None, None, None, LeaveKind.FULL, 0, True),
        (540, None, 0, LeaveKind.NONE, 0, True),
        (None, None, None, LeaveKind.NONE, 60, False),
    ]
    for clock_in, clock_out, work, leave, manhours, attended in days:
        judged = judge_day(clock_in, clock_out, work, leave, manhours, 15, has_attendance=attended)
        totals.add(
            manhours=manhours,
            mark=judged.mark,
            work_minutes=judged.work_minutes,
            clock_in=clock_in,
            leave=leave,
            has_attendance=attended,
        )
    assert (totals.days_worked, totals.work, totals.manhours, totals.difference) == (3, 720, 540, 180)
    assert (totals.leave_days, totals.mismatches) == (1.5, 3)


@pytest.mark.parametrize(
    ("first", "second", "expected"), [(None, None, None), (None, 15, 15), (20, None, 20), (0, None, 0), (10, 5, 15)]
)
def test_known_sum_adds_what_was_said(first, second, expected):
    assert known_sum(first, second) == expected


def test_month_payroll_totals_stay_none_until_a_day_says_them():
    totals = MonthTotals()
    totals.add_payroll(None, None, None, None)
    assert (totals.overtime, totals.late_night, totals.late_early) == (None, None, None)
    totals.add_payroll(30, 0, None, 10)
    totals.add_payroll(None, 45, 5, None)
    totals.add_payroll(15, None, 1, 2)
    assert (totals.overtime, totals.late_night, totals.late_early) == (45, 45, 18)


# --- every page and export agrees, day by day ------------------------------------------------------------

MONTH = date(2026, 11, 1)
DAYS = 30

minutes = st.integers(min_value=0, max_value=47 * 60)


PAYROLL = ("overtime_minutes", "late_night_minutes", "late_minutes", "early_leave_minutes")


@st.composite
def stored_days(draw) -> dict:
    """An attendance day as a provider or a file could leave it: ordinary, night shift, a clock-in without a
    clock-out (0 or no work minutes), a clock-out without a clock-in, leave of every kind, hourly leave, or
    nothing but leave."""
    clock_in = draw(st.none() | st.integers(min_value=0, max_value=23 * 60 + 59))
    clock_out = None
    if clock_in is not None and draw(st.booleans()):  # False: a missing clock-out
        clock_out = clock_in + draw(st.integers(min_value=0, max_value=20 * 60))  # past 24:00 for night shifts
    elif clock_in is None and draw(st.booleans()):  # a clock-out without a clock-in
        clock_out = draw(st.integers(min_value=0, max_value=47 * 60))
    if clock_in is not None and clock_out is not None:
        work = draw(st.none() | st.just(clock_out - clock_in) | st.integers(0, clock_out - clock_in))
    else:
        work = draw(st.sampled_from([None, 0, 480]))  # what a provider reports without both clocks
    breaks = []
    if clock_in is not None and clock_out is not None and clock_out - clock_in >= 60:
        start = draw(st.integers(clock_in, clock_out - 60))
        breaks.append((start, start + draw(st.integers(0, 60))))
    hourly = []
    if draw(st.booleans()):
        start = draw(st.integers(0, 22 * 60))
        hourly.append((start, start + draw(st.integers(1, 120))))
    said = st.none() | st.just(0) | st.integers(1, 600)  # payroll minutes: not said, 0, or some
    return {
        "clock_in": clock_in,
        "clock_out": clock_out,
        "work_minutes": work,
        "break_minutes": sum(end - start for start, end in breaks),
        "leave": draw(st.sampled_from(list(LeaveKind))),
        "breaks": breaks,
        "hourly": hourly,
        **{name: draw(said) for name in PAYROLL},
    }


def _booked_near(day: dict | None) -> st.SearchStrategy[int]:
    """Man-hours near the day's work time, so the threshold's edges are crossed both ways."""
    base = (day or {}).get("work_minutes") or 0
    offsets = st.sampled_from([-31, -30, -16, -15, -14, -1, 0, 1, 14, 15, 16, 30])
    return st.one_of(st.just(0), offsets.map(lambda offset: max(base + offset, 0)), st.integers(0, 600))


@st.composite
def months(draw) -> dict:
    """A synced member's month (days with attendance, man-hours on some of them and on others) and a member
    never synced, who sees initial values and has man-hours on a few dates; and a threshold."""
    synced = {}
    for offset in draw(st.sets(st.integers(0, DAYS - 1), max_size=8)):
        day = draw(st.none() | stored_days())  # None: man-hours without attendance
        synced[offset] = (day, draw(_booked_near(day)))
    never_synced = draw(st.dictionaries(st.integers(0, DAYS - 1), st.sampled_from([0, 15, 465, 480, 495]), max_size=4))
    return {"synced": synced, "never_synced": never_synced, "threshold": draw(st.sampled_from([0, 1, 15, 30]))}


def _store(month: dict) -> dict[str, Member]:
    for table in (AttendanceBreak, HourlyLeaveInterval, TimeEntry, AttendanceDay, Member, Project, AuditLog):
        db.session.execute(delete(table))
    members = {"P1": Member(code="P1", name="同期 済"), "P2": Member(code="P2", name="未 同期")}
    project = Project(code="PRJ", name="案件")
    db.session.add_all([*members.values(), project])
    db.session.flush()
    for offset, (day, booked) in month["synced"].items():
        work_date = MONTH + timedelta(days=offset)
        if day is not None:
            stored = AttendanceDay(
                member_id=members["P1"].id,
                work_date=work_date,
                clock_in=day["clock_in"],
                clock_out=day["clock_out"],
                work_minutes=day["work_minutes"],
                break_minutes=day["break_minutes"],
                leave=day["leave"],
                **{name: day[name] for name in PAYROLL},
            )
            stored.breaks = [AttendanceBreak(start=start, end=end) for start, end in day["breaks"]]
            stored.hourly_leaves = [HourlyLeaveInterval(start=start, end=end) for start, end in day["hourly"]]
            db.session.add(stored)
        if booked:
            db.session.add(TimeEntry(member_id=members["P1"].id, work_date=work_date, project=project, minutes=booked))
    for offset, booked in month["never_synced"].items():
        if booked:
            work_date = MONTH + timedelta(days=offset)
            db.session.add(TimeEntry(member_id=members["P2"].id, work_date=work_date, project=project, minutes=booked))
    current_settings().mismatch_threshold = month["threshold"]
    db.session.commit()
    return members


def _export(fmt: str) -> list[dict[str, str]]:
    stream = io.BytesIO()
    end = MONTH + timedelta(days=DAYS - 1)
    run_export(exporters()["csv"], ExportFilter(MONTH, end), {"format": fmt, "encoding": "utf-8"}, stream)
    return list(csv.DictReader(io.StringIO(stream.getvalue().decode("utf-8"), newline="")))


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


_MONTH_ROW = re.compile(r'<tr id="d(\d{4}-\d\d-\d\d)".*?<td class="markcell">(.*?)</td>', re.DOTALL)
_REPORT_ROW = re.compile(r'<td class="code"><a [^>]*>([^<]+)</a></td>(.*?)</tr>', re.DOTALL)
_GLYPH = re.compile(r'class="mark \w+"[^>]*>(.)</span>')


def _rendered_marks(client, members: dict[str, Member]) -> tuple[dict, dict]:
    """The marks the タイムシート month pages and the レポート page show, as the browser gets them."""
    month = MONTH.strftime("%Y-%m")
    pages = {}
    for code, member_id in members.items():
        html = client.get(f"/timesheets/{member_id}/{month}").get_data(as_text=True)
        pages[code] = {day: "".join(_GLYPH.findall(cell)) for day, cell in _MONTH_ROW.findall(html)}
    html = client.get(f"/reports/?month={month}").get_data(as_text=True)
    report = {code: _GLYPH.findall(cells) for code, cells in _REPORT_ROW.findall(html)}
    return pages, report


# One app for all examples (each example empties its tables first), so the function-scoped fixtures are meant.
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(month=months())
def test_timesheet_report_and_exports_judge_every_day_alike(app, logged_in, month):
    with app.app_context():
        members = _store(month)
        member_ids = {code: member.id for code, member in members.items()}
        config = current_settings()
        sheets = {code: member_month(member, MONTH, config) for code, member in members.items()}
        report = [(line.member.code, line.marks, line.totals) for line in month_report(MONTH, config)[1]]
        daily = {(row["社員コード"], row["年月日"]): row for row in _export("daily")}
        monthly = {row["社員コード"]: row for row in _export("monthly")}
    pages, report_page = _rendered_marks(logged_in, member_ids)

    # The pages show the marks the rows carry, date by date.
    for code, rows in sheets.items():
        assert pages[code] == {row.work_date.isoformat(): row.mark.value for row in rows}
        assert report_page[code] == [row.mark.value for row in rows if row.mark is not Mark.NONE]

    # The レポート shows the タイムシート's mark on every date, and its totals.
    assert {code for code, _marks, _totals in report} == set(sheets)
    for code, marks, totals in report:
        rows = sheets[code]
        assert marks == [row.mark for row in rows]
        assert (totals.work, totals.manhours, totals.mismatches) == (
            month_totals(rows).work,
            month_totals(rows).manhours,
            month_totals(rows).mismatches,
        )

    # The daily export has a row for every day with attendance, judged as the タイムシート judges it.
    attended = {(code, row.work_date.isoformat()): row for code, rows in sheets.items() for row in rows}
    attended = {key: row for key, row in attended.items() if row.has_attendance}
    assert set(daily) == set(attended)
    for key, row in attended.items():
        cells = daily[key]
        assert cells["勤務(分)"] == _cell(row.work_minutes), key
        assert cells["工数(分)"] == str(row.manhours), key
        assert cells["差分(分)"] == _cell(row.difference), key
        assert cells["判定"] == MARKS[row.mark], key
        if row.clock_in is not None and row.clock_out is None:
            assert cells["判定"] != "✓", f"{key}: a missing clock-out is never ✓"
        # The provider's payroll minutes as the タイムシート's day has them; empty only when not said.
        assert cells["残業(分)"] == _cell(row.overtime_minutes), key
        assert cells["深夜(分)"] == _cell(row.late_night_minutes), key
        late, early = row.late_minutes, row.early_leave_minutes
        assert cells["遅刻早退(分)"] == _cell(None if late is None and early is None else (late or 0) + (early or 0))

    # The monthly export sums the タイムシート's judged days with attendance (plain sums here, not MonthTotals),
    # and agrees with the page's totals row where the two cover the same days.
    halves = {LeaveKind.NONE: 0, LeaveKind.FULL: 2, LeaveKind.AM: 1, LeaveKind.PM: 1}
    for code, rows in sheets.items():
        counted = [row for row in rows if row.has_attendance]
        if not counted:
            assert code not in monthly
            continue
        cells, page = monthly[code], month_totals(rows)
        worked = sum(1 for row in counted if row.clock_in is not None)
        work = sum(row.work_minutes or 0 for row in counted)
        booked = sum(row.manhours for row in counted)
        assert int(cells["出勤日数"]) == worked == page.days_worked
        assert int(cells["勤務(分)"]) == work == page.work
        assert int(cells["工数(分)"]) == booked
        assert int(cells["差分(分)"]) == work - booked
        assert float(cells["休暇日数"]) == sum(halves[row.leave] for row in counted) / 2
        # Payroll sums: plain sums of what the days said, empty when no day said anything; H:MM beside them.
        for column, names in (
            ("残業", ("overtime_minutes",)),
            ("深夜", ("late_night_minutes",)),
            ("遅刻早退", ("late_minutes", "early_leave_minutes")),
        ):
            said = [getattr(row, name) for row in counted for name in names if getattr(row, name) is not None]
            expected = sum(said) if said else None
            assert cells[f"{column}(分)"] == _cell(expected), column
            hhmm = "" if expected is None else f"{expected // 60}:{expected % 60:02d}"
            assert cells[f"{column}(H:MM)"] == hhmm, column
        assert (page.overtime, page.late_night, page.late_early) == tuple(
            None if cells[f"{column}(分)"] == "" else int(cells[f"{column}(分)"])
            for column in ("残業", "深夜", "遅刻早退")
        )
