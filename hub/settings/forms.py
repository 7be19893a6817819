"""The タイムシート設定 form, with a message per field for every rule."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField
from wtforms.validators import InputRequired, NumberRange

from hub.forms import HubForm, TimeOfDayField
from hub.models import INPUT_UNITS

MAX_THRESHOLD = 240


def _timezone_choices() -> list[str]:
    return sorted(available_timezones())


class TimesheetSettingsForm(HubForm):
    input_unit = SelectField(
        _l("Input unit (minutes)"),
        coerce=int,
        choices=[SelectChoice(str(unit)) for unit in INPUT_UNITS],
        validate_choice=False,
    )
    use_attendance = BooleanField(_l("Use attendance"))
    clock_in = TimeOfDayField(_l("Clock-in time"), [InputRequired(_l("Enter the clock-in time."))])
    clock_out = TimeOfDayField(_l("Clock-out time"), [InputRequired(_l("Enter the clock-out time."))])
    break1_start = TimeOfDayField(_l("Break 1 start"))
    break1_end = TimeOfDayField(_l("Break 1 end"))
    break2_start = TimeOfDayField(_l("Break 2 start"))
    break2_end = TimeOfDayField(_l("Break 2 end"))
    mismatch_threshold = IntegerField(
        _l("Man-hours vs attendance threshold (minutes)"),
        [
            InputRequired(_l("Enter the threshold in minutes.")),
            NumberRange(0, MAX_THRESHOLD, _l("Enter a whole number of minutes from 0 to 240.")),
        ],
    )
    use_leave = BooleanField(_l("Use leave"))
    am_leave_start = TimeOfDayField(_l("Morning leave start"), [InputRequired(_l("Enter a start time."))])
    am_leave_end = TimeOfDayField(_l("Morning leave end"), [InputRequired(_l("Enter an end time."))])
    pm_leave_start = TimeOfDayField(_l("Afternoon leave start"), [InputRequired(_l("Enter a start time."))])
    pm_leave_end = TimeOfDayField(_l("Afternoon leave end"), [InputRequired(_l("Enter an end time."))])
    use_process_input = BooleanField(_l("Use process input"))
    timezone = SelectField(_l("Company time zone"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = _timezone_choices()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for check in (
            self._check_unit,
            self._check_timezone,
            self._check_day,
            self._check_breaks,
            self._check_leave,
        ):
            valid = check() and valid
        return valid

    def _check_unit(self) -> bool:
        if self.input_unit.data in INPUT_UNITS:
            return True
        allowed = ", ".join(str(unit) for unit in INPUT_UNITS)
        self.input_unit.errors.append(_l("Choose one of %(units)s minutes.", units=allowed))
        return False

    def _check_timezone(self) -> bool:
        if self.timezone.data in self.timezone.choices:
            return True
        self.timezone.errors.append(_l("Choose a time zone from the list (e.g. Asia/Tokyo)."))
        return False

    def _check_day(self) -> bool:
        start, end = self.clock_in.data, self.clock_out.data
        if start is None or end is None or start < end:
            return True
        self.clock_out.errors.append(_l("The clock-out time must be after the clock-in time."))
        return False

    def _check_breaks(self) -> bool:
        valid = True
        spans = []
        for start_field, end_field in (
            (self.break1_start, self.break1_end),
            (self.break2_start, self.break2_end),
        ):
            if start_field.errors or end_field.errors:
                valid = False
                continue
            start, end = start_field.data, end_field.data
            if start is None and end is None:
                continue
            if start is None or end is None:
                (start_field if start is None else end_field).errors.append(
                    _l("Enter both the start and the end of the break, or neither.")
                )
                valid = False
            elif start >= end:
                end_field.errors.append(_l("The break must end after it starts."))
                valid = False
            elif (
                self.clock_in.data is not None
                and self.clock_out.data is not None
                and (start < self.clock_in.data or end > self.clock_out.data)
            ):
                start_field.errors.append(_l("The break must lie within the working hours."))
                valid = False
            else:
                spans.append((start, end, start_field))
        if len(spans) == 2 and spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]:
            spans[1][2].errors.append(_l("Break 2 overlaps break 1."))
            valid = False
        return valid

    def _check_leave(self) -> bool:
        valid = True
        for start_field, end_field in (
            (self.am_leave_start, self.am_leave_end),
            (self.pm_leave_start, self.pm_leave_end),
        ):
            start, end = start_field.data, end_field.data
            if start is not None and end is not None and start >= end:
                end_field.errors.append(_l("The leave must end after it starts."))
                valid = False
        am_end, pm_start = self.am_leave_end.data, self.pm_leave_start.data
        if valid and am_end is not None and pm_start is not None and am_end > pm_start:
            self.am_leave_end.errors.append(_l("Morning leave must end no later than afternoon leave starts."))
            valid = False
        return valid
