"""基本設定 › タイムシート設定: every field of the seed's screen, validated with a message per field."""

from __future__ import annotations

import pytest

from hub.extensions import db
from hub.models import AuditLog, Settings

VALID = {
    "input_unit": "15",
    "use_attendance": "y",
    "clock_in": "09:00",
    "clock_out": "18:00",
    "break1_start": "12:00",
    "break1_end": "13:00",
    "break2_start": "",
    "break2_end": "",
    "mismatch_threshold": "15",
    "use_leave": "y",
    "am_leave_start": "09:00",
    "am_leave_end": "13:00",
    "pm_leave_start": "14:00",
    "pm_leave_end": "18:00",
    "use_process_input": "y",
    "timezone": "Asia/Tokyo",
}


def test_page_shows_the_seed_defaults(logged_in):
    page = logged_in.get("/admin/settings/").get_data(as_text=True)
    for value in [
        'value="09:00"',
        'value="18:00"',
        'value="12:00"',
        'value="13:00"',
        'value="14:00"',
        'value="15"',
        "Asia/Tokyo",
    ]:
        assert value in page
    for label in [
        "Input unit (minutes)",
        "Use attendance",
        "Clock-in time",
        "Clock-out time",
        "Break 1",
        "Break 2",
        "Man-hours vs attendance",
        "Use leave",
        "Morning leave",
        "Afternoon leave",
        "Process input",
        "Company time zone",
    ]:
        assert label in page


def test_saving_stores_every_field_and_audits(app, logged_in):
    data = dict(
        VALID,
        input_unit="30",
        clock_in="08:30",
        clock_out="17:30",
        break2_start="15:00",
        break2_end="15:15",
        mismatch_threshold="30",
        use_leave="",
        am_leave_end="12:30",
        pm_leave_start="13:30",
        pm_leave_end="17:30",
        use_process_input="",
        timezone="Asia/Seoul",
    )
    response = logged_in.post("/admin/settings/", data=data)
    assert response.status_code == 302
    assert "Settings saved." in logged_in.get("/admin/settings/").get_data(as_text=True)
    with app.app_context():
        settings = db.session.get(Settings, 1)
        assert (settings.input_unit, settings.clock_in, settings.clock_out) == (30, 510, 1050)
        assert (settings.break2_start, settings.break2_end) == (900, 915)
        assert settings.mismatch_threshold == 30 and settings.use_leave is False
        assert settings.use_process_input is False and settings.use_attendance is True
        assert (settings.am_leave_end, settings.pm_leave_start) == (750, 810)
        assert settings.timezone == "Asia/Seoul"
        entry = db.session.query(AuditLog).filter_by(action="settings.update").one()
        assert entry.details["input_unit"] == [15, 30] and entry.actor == "admin@example.com"


def test_clearing_break_1_is_allowed(app, logged_in):
    assert logged_in.post("/admin/settings/", data=dict(VALID, break1_start="", break1_end="")).status_code == 302
    with app.app_context():
        assert db.session.get(Settings, 1).break1_start is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"clock_in": "9時"}, "clock_in", "Enter a time as HH:MM (00:00–23:59)."),
        ({"clock_in": "24:00"}, "clock_in", "Enter a time as HH:MM (00:00–23:59)."),
        ({"clock_out": "12:61"}, "clock_out", "Enter a time as HH:MM (00:00–23:59)."),
        ({"clock_in": ""}, "clock_in", "Enter the clock-in time."),
        ({"clock_out": "08:00"}, "clock_out", "The clock-out time must be after the clock-in time."),
        (
            {"break1_start": "08:00", "break1_end": "09:30"},
            "break1_start",
            "The break must lie within the working hours.",
        ),
        ({"break1_end": "11:00"}, "break1_end", "The break must end after it starts."),
        (
            {"break2_start": "15:00"},
            "break2_end",
            "Enter both the start and the end of the break, or neither.",
        ),
        ({"break2_start": "12:30", "break2_end": "13:30"}, "break2_start", "Break 2 overlaps break 1."),
        (
            {"mismatch_threshold": "241"},
            "mismatch_threshold",
            "Enter a whole number of minutes from 0 to 240.",
        ),
        (
            {"mismatch_threshold": "-1"},
            "mismatch_threshold",
            "Enter a whole number of minutes from 0 to 240.",
        ),
        ({"mismatch_threshold": ""}, "mismatch_threshold", "Enter the threshold in minutes."),
        ({"input_unit": "20"}, "input_unit", "Choose one of 1, 5, 10, 15, 30, 60 minutes."),
        (
            {"am_leave_end": "14:30"},
            "am_leave_end",
            "Morning leave must end no later than afternoon leave starts.",
        ),
        ({"pm_leave_end": "13:00"}, "pm_leave_end", "The leave must end after it starts."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Choose a time zone from the list (e.g. Asia/Tokyo)."),
    ],
)
def test_each_rule_names_its_field(app, logged_in, changes, field, message):
    response = logged_in.post("/admin/settings/", data=dict(VALID, **changes))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in page
    with app.app_context():
        assert db.session.get(Settings, 1) is None  # nothing saved


def test_a_bad_value_is_shown_back_as_typed(logged_in):
    page = logged_in.post("/admin/settings/", data=dict(VALID, clock_in="9時")).get_data(as_text=True)
    assert 'value="9時"' in page


def test_zero_threshold_is_valid(app, logged_in):
    assert logged_in.post("/admin/settings/", data=dict(VALID, mismatch_threshold="0")).status_code == 302
