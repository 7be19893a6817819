"""Member add/edit, end and import forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from hub.dates import plausible_date
from hub.extensions import db
from hub.forms import CodeField, HubForm
from hub.models import Integration, PriceUnit


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value):
    return value or None


def _optional_id(value):
    """A select's value as an id: blank is None; anything but digits is a value no choice has."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


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
    preferred_integration_id = SelectField(
        _l("Preferred attendance integration"),
        coerce=_optional_id,
        choices=[],  # set by with_integrations: the integrations there are
        description=_l(
            "When several integrations sync this member, the days of this integration are kept; the others "
            "leave them as they are. Without one, the integrations’ priorities decide."
        ),
    )
    start_date = DateField(_l("Start date"), [Optional(), plausible_date])
    end_date = DateField(_l("End date"), [Optional(), plausible_date])

    def with_integrations(self) -> MemberForm:
        """Offer the integrations there are as the preferred one, by name, after "none"."""
        integrations = db.session.execute(select(Integration.id, Integration.name).order_by(Integration.name))
        self.preferred_integration_id.choices = [
            SelectChoice("", _l("None (integration priorities decide)")),
            *(SelectChoice(str(integration_id), name) for integration_id, name in integrations),
        ]
        return self

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
