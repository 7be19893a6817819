"""The export form: period, integration, department and members (the exporter's own options come beside it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from hub.dates import plausible_date
from hub.exports.service import MAX_MEMBER_CODES, parse_member_codes, unknown_member_codes
from hub.forms import HubForm

MAX_PERIOD_DAYS = 366


class ExportForm(HubForm):
    start = DateField(_l("From"), [DataRequired(_l("Enter the first day as YYYY-MM-DD.")), plausible_date])
    end = DateField(_l("To"), [DataRequired(_l("Enter the last day as YYYY-MM-DD.")), plausible_date])
    integration = SelectField(_l("Integration"), default="")
    department = SelectField(_l("Department"), default="")
    members = TextAreaField(
        _l("Members"),
        description=_l("Employee codes separated by spaces, commas or new lines; leave empty for every member."),
        render_kw={"rows": 2, "placeholder": "P1001 P1002"},
    )

    def validate_end(self, field):
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The last day must not be before the first day."))
            if (field.data - self.start.data).days + 1 > MAX_PERIOD_DAYS:
                raise ValidationError(_l("An export covers at most 366 days; export a longer span in parts."))

    def validate_members(self, field):
        codes = self.member_codes
        if len(codes) > MAX_MEMBER_CODES:
            raise ValidationError(_l("Enter at most %(count)d employee codes.", count=MAX_MEMBER_CODES))
        unknown = unknown_member_codes(codes)
        if unknown:
            raise ValidationError(_l("No member has the code(s): %(codes)s.", codes=", ".join(unknown[:20])))

    @property
    def member_codes(self) -> tuple[str, ...]:
        return parse_member_codes(self.members.data or "")
