"""The sync form: which integration and which period."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import DataRequired, ValidationError

from hub.forms import HubForm
from hub.sync.lifecycle import SyncPeriodError, check_period


class SyncForm(HubForm):
    integration = SelectField(_l("Integration"), coerce=int, validate_choice=False)
    start = DateField(_l("From"), [DataRequired(_l("Enter the first day as YYYY-MM-DD."))])
    end = DateField(_l("To"), [DataRequired(_l("Enter the last day as YYYY-MM-DD."))])

    def validate_integration(self, field):
        if field.data not in {int(choice.value) for choice in field.choices}:
            raise ValidationError(_l("Choose an integration."))

    def validate_end(self, field):
        if self.start.data and field.data:
            try:
                check_period(self.start.data, field.data)
            except SyncPeriodError as exc:
                raise ValidationError(str(exc)) from None
