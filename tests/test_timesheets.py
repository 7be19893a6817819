"""タイムシート, man-hours entry, submit/approve/reopen and レポート."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import (
    AttendanceBreak,
    AttendanceDay,
    AuditLog,
    DayState,
    HourlyLeaveInterval,
    Member,
    Project,
    TimeEntry,
    TimesheetDay,
)
from hub.records import LeaveKind

MONTH = "2026-11"


def add_day(member_id, day, clock_in=9 * 60, clock_out=18 * 60, breaks=((12 * 60, 13 * 60),), **fields):
    work = None
    if clock_in is not None and clock_out is not None:
        work = clock_out - clock_in - sum(end - start for start, end in breaks)
    values = {"work_minutes": work, "break_minutes": sum(end - start for start, end in breaks)} | fields
    record = AttendanceDay(member_id=member_id, work_date=day, clock_in=clock_in, clock_out=clock_out, **values)
    record.breaks = [AttendanceBreak(start=start, end=end) for start, end in breaks]
    db.session.add(record)
    return record


@pytest.fixture
def sheet(app):
    """Two members and a project; P1001 has four days of attendance in November 2026."""
    with app.app_context():
        taro = Member(code="P1001", name="工数 太郎", department="開発")
        hanako = Member(code="P1002", name="勤怠 花子", department="営業")
        project = Project(code="PRJ1", name="受託開発")
        db.session.add_all([taro, hanako, project])
        db.session.flush()
        add_day(taro.id, date(2026, 11, 2))  # 8:00 of work
        add_day(taro.id, date(2026, 11, 3), clock_in=22 * 60, clock_out=26 * 60 + 10, breaks=())  # night shift
        add_day(taro.id, date(2026, 11, 4), clock_in=None, clock_out=None, breaks=(), leave=LeaveKind.FULL)
        add_day(taro.id, date(2026, 11, 5), clock_out=None, work_minutes=0)  # missing clock-out, Jobcan says 0
        db.session.add(TimeEntry(member_id=taro.id, work_date=date(2026, 11, 2), project_id=project.id, minutes=465))
        db.session.commit()
        return {"taro": taro.id, "hanako": hanako.id, "project": project.id}


def row_of(html: str, day: str) -> str:
    match = re.search(rf'<tr id="d{day}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, day
    return match.group(1)


# --- the month page ---------------------------------------------------------------------------------


def test_month_shows_times_totals_marks_and_leave(client, logged_in, sheet):
    html = client.get(f"/timesheets/{sheet['taro']}/{MONTH}").get_data(as_text=True)
    ordinary = row_of(html, "2026-11-02")
    assert "09:00" in ordinary and "18:00" in ordinary and "8:00" in ordinary and "7:45" in ordinary
    assert "+0:15" in ordinary and 'class="mark mismatch"' in ordinary
    night = row_of(html, "2026-11-03")
    assert "22:00" in night and "26:10" in night and "4:10" in night
    assert 'class="mark leave"' in row_of(html, "2026-11-04") and "Full-day leave" in row_of(html, "2026-11-04")
    assert "missing" in row_of(html, "2026-11-05") and 'class="mark mismatch"' in row_of(html, "2026-11-05")
    assert 'class="mark ' not in row_of(html, "2026-11-06")  # nothing synced, nothing booked
    # A night shift past midnight stretches every bar of the month to 30 hours.
    assert 'viewBox="0 0 1800 20"' in night and 'viewBox="0 0 1800 20"' in ordinary


def test_day_bar_draws_work_breaks_and_leave_on_the_server(client, logged_in, app, sheet):
    with app.app_context():
        day = add_day(sheet["taro"], date(2026, 11, 9), leave=LeaveKind.AM, clock_in=14 * 60, breaks=())
        day.hourly_leaves = [HourlyLeaveInterval(start=16 * 60, end=17 * 60)]
        db.session.commit()
    html = client.get(f"/timesheets/{sheet['taro']}/{MONTH}").get_data(as_text=True)
    ordinary = row_of(html, "2026-11-02")
    assert '<rect class="work" x="540" y="5" width="540"' in ordinary
    assert '<rect class="break" x="720" y="5" width="60"' in ordinary
    leave_day = row_of(html, "2026-11-09")
    assert '<rect class="leave" x="540" y="1" width="240"' in leave_day  # 午前休 09:00–13:00 from settings
    assert '<rect class="leave" x="960" y="1" width="60"' in leave_day  # 時間休 16:00–17:00
    assert "Morning leave / Hourly leave 16:00–17:00" in leave_day
    assert '<rect class="missing" x="540"' in row_of(html, "2026-11-05")


def test_before_any_sync_weekdays_show_the_settings_as_initial_values(client, logged_in, sheet):
    html = client.get(f"/timesheets/{sheet['hanako']}/{MONTH}").get_data(as_text=True)
    monday = row_of(html, "2026-11-02")
    assert "09:00" in monday and "18:00" in monday and '<rect class="initial" x="540"' in monday
    assert 'class="mark ' not in monday  # an initial value alone is not judged
    assert "09:00" not in row_of(html, "2026-11-01")  # Sunday
    assert "No attendance has been synced for this member yet" in html
    # Once any attendance exists for the member, days without attendance are empty.
    taro = client.get(f"/timesheets/{sheet['taro']}/2026-12").get_data(as_text=True)
    assert "09:00" not in row_of(taro, "2026-12-01")
    assert "No attendance has been synced for this member yet" not in taro


def test_unknown_member_or_month_is_404(client, logged_in, sheet):
    assert client.get(f"/timesheets/999/{MONTH}").status_code == 404
    assert client.get(f"/timesheets/{sheet['taro']}/2026-13").status_code == 404
    assert client.get(f"/timesheets/{sheet['taro']}/day/2026-02-30").status_code == 404


def test_dates_outside_the_record_window_are_404_and_store_nothing(app, client, logged_in, sheet):
    taro, project = sheet["taro"], sheet["project"]
    assert client.get(f"/timesheets/{taro}/9999-12").status_code == 404
    assert client.get(f"/timesheets/{taro}/day/0001-01-01").status_code == 404
    data = {"new_project": project, "new_minutes": "1:00"}
    assert client.post(f"/timesheets/{taro}/day/9999-12-31", data=data).status_code == 404
    assert client.post(f"/timesheets/{taro}/day/9999-12-31/review", data={"action": "submit"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(TimeEntry.id))) == 1


def test_a_day_page_without_projects_links_to_adding_one(app, client, logged_in):
    with app.app_context():
        member = Member(code="P9", name="一人 目")
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    page = client.get(f"/timesheets/{member_id}/day/2026-11-02")
    assert page.status_code == 200 and 'href="/admin/manhours/new"' in page.get_data(as_text=True)


def facts(html: str) -> dict[str, str]:
    """The day page's facts, label → value."""
    return dict(re.findall(r"<div><dt>(.*?)</dt><dd>(.*?)</dd></div>", html, re.S))


def test_the_day_page_shows_payroll_minutes_as_h_mm_and_a_dash_when_not_said(app, client, logged_in, sheet):
    with app.app_context():
        day = db.session.scalar(select(AttendanceDay).where(AttendanceDay.work_date == date(2026, 11, 2)))
        day.overtime_minutes, day.late_night_minutes, day.late_minutes = 90, 0, None
        day.early_leave_minutes = 615
        db.session.commit()
    url = f"/timesheets/{sheet['taro']}/day/2026-11-02"
    shown = facts(client.get(url).get_data(as_text=True))
    assert (shown["Overtime"], shown["Late-night work"], shown["Late arrival"], shown["Early leave"]) == (
        "1:30",
        "0:00",  # said 0: shown as 0:00
        "—",  # not said
        "10:15",
    )
    shown = facts(client.get(url, headers={"Accept-Language": "ja"}).get_data(as_text=True))
    assert (shown["残業"], shown["深夜"], shown["遅刻"], shown["早退"]) == ("1:30", "0:00", "—", "10:15")
    # A day no provider said them for (the night shift) shows a dash for each.
    shown = facts(client.get(f"/timesheets/{sheet['taro']}/day/2026-11-03").get_data(as_text=True))
    assert [shown[label] for label in ("Overtime", "Late-night work", "Late arrival", "Early leave")] == ["—"] * 4


def test_index_opens_a_member_by_code(client, logged_in, sheet):
    response = client.get("/timesheets/?member=P1002&month=2026-10")
    assert response.status_code == 302 and response.location.endswith(f"/timesheets/{sheet['hanako']}/2026-10")
    assert "No member has the code" in client.get("/timesheets/?member=NOPE", follow_redirects=True).get_data(True)


# --- man-hours on a day -----------------------------------------------------------------------------


def entries(app, member_id):
    with app.app_context():
        return {
            (entry.work_date, entry.project.code): entry.minutes
            for entry in db.session.scalars(select(TimeEntry).where(TimeEntry.member_id == member_id))
        }


def test_booking_man_hours_turns_a_mismatch_into_a_match(client, logged_in, app, sheet):
    day = f"/timesheets/{sheet['taro']}/day/2026-11-02"
    response = client.post(day, data={f"project_{sheet['project']}": "8:00", "new_project": ""})
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert 'class="mark match"' in row_of(html, "2026-11-02") and "Man-hours saved." in html
    assert entries(app, sheet["taro"]) == {(date(2026, 11, 2), "PRJ1"): 480}
    with app.app_context():
        log = db.session.scalars(select(AuditLog).where(AuditLog.action == "manhours.update")).one()
        assert log.target == "P1001 2026-11-02" and log.details == {"PRJ1": [465, 480]}


def test_new_project_row_books_minutes_or_hhmm(client, logged_in, app, sheet):
    with app.app_context():
        db.session.add(Project(code="PRJ2", name="社内"))
        db.session.commit()
        other = db.session.scalar(select(Project.id).where(Project.code == "PRJ2"))
    client.post(f"/timesheets/{sheet['taro']}/day/2026-11-03", data={"new_project": str(other), "new_minutes": "90"})
    client.post(f"/timesheets/{sheet['taro']}/day/2026-11-06", data={"new_project": str(other), "new_minutes": "1:30"})
    assert entries(app, sheet["taro"])[(date(2026, 11, 3), "PRJ2")] == 90
    assert entries(app, sheet["taro"])[(date(2026, 11, 6), "PRJ2")] == 90


def test_zero_removes_an_entry(client, logged_in, app, sheet):
    client.post(f"/timesheets/{sheet['taro']}/day/2026-11-02", data={f"project_{sheet['project']}": "0"})
    assert entries(app, sheet["taro"]) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0:20", "Enter a multiple of the input unit (15 minutes)."),
        ("abc", "Enter minutes (90) or hours and minutes (1:30)."),
        ("25:00", "Man-hours cannot exceed 24 hours a day."),
    ],
)
def test_bad_man_hours_are_refused_on_their_field(client, logged_in, app, sheet, value, message):
    response = client.post(f"/timesheets/{sheet['taro']}/day/2026-11-02", data={f"project_{sheet['project']}": value})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert entries(app, sheet["taro"]) == {(date(2026, 11, 2), "PRJ1"): 465}


def test_input_unit_comes_from_settings(client, logged_in, app, sheet):
    with app.app_context():
        from hub.settings.service import current_settings

        current_settings().input_unit = 10
        db.session.commit()
    client.post(f"/timesheets/{sheet['taro']}/day/2026-11-02", data={f"project_{sheet['project']}": "0:20"})
    assert entries(app, sheet["taro"]) == {(date(2026, 11, 2), "PRJ1"): 20}


def test_minutes_without_a_project_are_refused(client, logged_in, app, sheet):
    response = client.post(f"/timesheets/{sheet['taro']}/day/2026-11-06", data={"new_minutes": "1:00"})
    assert "Choose the project to book these man-hours on." in response.get_data(as_text=True)


# --- submit, approve, reopen ------------------------------------------------------------------------


def state_of(app, member_id, day):
    with app.app_context():
        row = db.session.scalar(
            select(TimesheetDay).where(TimesheetDay.member_id == member_id, TimesheetDay.work_date == day)
        )
        return row.state if row else DayState.DRAFT


def review(client, member_id, day, action):
    return client.post(f"/timesheets/{member_id}/day/{day}/review", data={"action": action})


def test_submit_approve_reopen_are_audited_and_lock_the_day(client, logged_in, app, sheet):
    taro, monday = sheet["taro"], date(2026, 11, 2)
    assert review(client, taro, monday, "approve").status_code == 302
    assert state_of(app, taro, monday) is DayState.DRAFT  # a draft day cannot be approved directly
    review(client, taro, monday, "submit")
    assert state_of(app, taro, monday) is DayState.SUBMITTED
    # Locked: the man-hours cannot change.
    response = client.post(
        f"/timesheets/{taro}/day/{monday}", data={f"project_{sheet['project']}": "8:00"}, follow_redirects=True
    )
    assert "This day is submitted or approved. Reopen it to change its man-hours." in response.get_data(True)
    assert entries(app, taro) == {(monday, "PRJ1"): 465}
    review(client, taro, monday, "approve")
    assert state_of(app, taro, monday) is DayState.APPROVED
    review(client, taro, monday, "reopen")
    assert state_of(app, taro, monday) is DayState.DRAFT
    client.post(f"/timesheets/{taro}/day/{monday}", data={f"project_{sheet['project']}": "8:00"})
    assert entries(app, taro) == {(monday, "PRJ1"): 480}
    with app.app_context():
        actions = [
            (log.action, log.details["dates"], log.actor)
            for log in db.session.scalars(
                select(AuditLog).where(AuditLog.action.like("timesheet.%")).order_by(AuditLog.id)
            )
        ]
    assert actions == [
        ("timesheet.submit", ["2026-11-02"], "admin@example.com"),
        ("timesheet.approve", ["2026-11-02"], "admin@example.com"),
        ("timesheet.reopen", ["2026-11-02"], "admin@example.com"),
    ]


def test_unknown_review_action_is_refused(client, logged_in, sheet):
    assert review(client, sheet["taro"], "2026-11-02", "delete").status_code == 400


def test_submitting_the_month_takes_days_with_attendance_or_man_hours(client, logged_in, app, sheet):
    client.post(f"/timesheets/{sheet['taro']}/{MONTH}/review", data={"action": "submit"})
    with app.app_context():
        submitted = set(
            db.session.scalars(
                select(TimesheetDay.work_date).where(
                    TimesheetDay.member_id == sheet["taro"], TimesheetDay.state == DayState.SUBMITTED
                )
            )
        )
    assert submitted == {date(2026, 11, day) for day in (2, 3, 4, 5)}
    client.post(f"/timesheets/{sheet['taro']}/{MONTH}/review", data={"action": "approve"})
    assert state_of(app, sheet["taro"], date(2026, 11, 3)) is DayState.APPROVED
    html = client.get(f"/timesheets/{sheet['taro']}/{MONTH}").get_data(as_text=True)
    assert "Approved" in row_of(html, "2026-11-03")


# --- the report -------------------------------------------------------------------------------------


def report_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td class="code"><a [^>]*>([^<]+)</a>', body)


def test_report_counts_mismatches_per_member_worst_first(client, logged_in, app, sheet):
    with app.app_context():
        add_day(sheet["hanako"], date(2026, 11, 2))
        db.session.add(
            TimeEntry(member_id=sheet["hanako"], work_date=date(2026, 11, 2), project_id=sheet["project"], minutes=480)
        )
        db.session.commit()
    html = client.get(f"/reports/?month={MONTH}").get_data(as_text=True)
    assert report_rows(html) == ["P1001", "P1002"]  # P1001: 11/2, 11/3 and 11/5 differ; P1002 matches
    first_row = html.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num bad">3</td>' in first_row
    assert first_row.count('class="mark mismatch"') == 3 and first_row.count('class="mark leave"') == 1
    assert report_rows(client.get(f"/reports/?month={MONTH}&mismatches=1").get_data(True)) == ["P1001"]
    assert report_rows(client.get(f"/reports/?month={MONTH}&department=営業").get_data(True)) == ["P1002"]


def test_report_leaves_out_members_who_left_before_the_month(client, logged_in, app, sheet):
    with app.app_context():
        db.session.get(Member, sheet["hanako"]).end_date = date(2026, 10, 31)
        db.session.commit()
    assert report_rows(client.get(f"/reports/?month={MONTH}").get_data(True)) == ["P1001"]


def test_man_hours_on_an_initial_day_are_judged_against_the_initial_values(client, logged_in, app, sheet):
    with app.app_context():
        for day, minutes in ((2, 480), (3, 420)):
            db.session.add(
                TimeEntry(
                    member_id=sheet["hanako"],
                    work_date=date(2026, 11, day),
                    project_id=sheet["project"],
                    minutes=minutes,
                )
            )
        db.session.commit()
    html = client.get(f"/timesheets/{sheet['hanako']}/{MONTH}").get_data(as_text=True)
    assert 'class="mark match"' in row_of(html, "2026-11-02")  # 09:00–18:00 less the 12:00–13:00 break
    assert 'class="mark mismatch"' in row_of(html, "2026-11-03") and "+1:00" in row_of(html, "2026-11-03")
    report = client.get(f"/reports/?month={MONTH}&department=営業").get_data(as_text=True)
    row = report.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert row.count('class="mark match"') == 1 and row.count('class="mark mismatch"') == 1
