"""The buttons that change a timesheet day's state (submit, approve, reopen), CSRF-protected."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from hub.forms import HubForm
from hub.timesheets.review import Action


class ReviewForm(HubForm):
    action = HiddenField(validators=[DataRequired(), AnyOf([str(action) for action in Action])])
