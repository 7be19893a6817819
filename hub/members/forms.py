"""Member add/edit, end and import forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from hub.dates import plausible_date
from hub.forms import CodeField, HubForm
from hub.models import PriceUnit


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value):
    return value or None


class MemberForm(HubForm):
    code = CodeField(_l("Employee code"), [DataRequired(_l("Enter the employee code.")), Length(max=64)])
    name = StringField(_l("Name"), [DataRequired(_l("Enter the name.")), Length(max=200)], filters=[_strip])
    department = StringField(_l("Department"), [Length(max=200)], filters=[_strip, _blank_to_none])
    position = StringField(_l("Position"), [Length(max=200)], filters=[_strip, _blank_to_none])
    employment_type = StringField(_l("Employment type"), [Length(max=100)], filters=[_strip, _blank_to_none])
    affiliation = StringField(_l("Affiliation"), [Length(max=200)], filters=[_strip, _blank_to_none])
    unit_price = IntegerField(
        _l("Unit price (yen)"),
        [Optional(), NumberRange(min=0, max=1_000_000_000, message=_l("Enter an amount from 0 to 1,000,000,000 yen."))],
    )
    price_unit = SelectField(
        _l("Price per"),
        choices=[
            SelectChoice(PriceUnit.MONTHLY.value, _l("Month")),
            SelectChoice(PriceUnit.HOURLY.value, _l("Hour")),
        ],
        default=PriceUnit.MONTHLY.value,
    )
    start_date = DateField(_l("Start date"), [Optional(), plausible_date])
    end_date = DateField(_l("End date"), [Optional(), plausible_date])

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date must not be before the start date."))

    def member_values(self) -> dict:
        """The form's values as Member attributes."""
        values = {field.name: field.data for field in self if field.name != "csrf_token"}
        values["price_unit"] = PriceUnit(values["price_unit"]) if values["unit_price"] is not None else None
        return values


class EndMemberForm(HubForm):
    end_date = DateField(_l("End date"), [DataRequired(_l("Enter the last day as YYYY-MM-DD.")), plausible_date])
