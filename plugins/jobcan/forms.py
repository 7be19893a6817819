"""The Jobcan settings form: ID, secret access key, environment, and the admin's limits on the pace."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SelectChoice, SelectField, StringField, URLField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from hub.forms import ProviderURL, SecretField
from hub_plugins.jobcan.catalog import _l


class JobcanSettingsForm(FlaskForm):
    client_id = StringField(
        _l("ID"),
        [DataRequired(_l("Enter the API client ID issued by Jobcan.")), Length(max=200)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    client_secret = SecretField(
        _l("Secret access key"),
        [DataRequired(_l("Enter the secret access key issued by Jobcan.")), Length(max=500)],
        bound_to=("environment", "api_base_url", "auth_base_url"),
    )
    environment = SelectField(
        _l("Environment"),
        choices=[
            SelectChoice("production", _l("Production")),
            SelectChoice("sandbox", _l("Sandbox")),
            SelectChoice("custom", _l("Custom URLs (simulator, proxy)")),
        ],
        default="production",
    )
    api_base_url = URLField(_l("API base URL"))
    auth_base_url = URLField(_l("Auth base URL"))
    refresh_summaries = BooleanField(_l("Recalculate daily summaries before reading"), default=True)
    requests_per_second = FloatField(
        _l("At most this many requests a second"),
        [Optional(), NumberRange(0.1, 50, _l("Enter a number from 0.1 to 50, or leave it blank."))],
        description=_l(
            "Leave blank: the hub finds how fast Jobcan answers by itself, slowing down when Jobcan says "
            '"too many requests" and remembering the pace for the next sync. Enter a number only for a limit '
            "agreed with Jobcan."
        ),
    )
    concurrency = IntegerField(
        _l("Parallel requests"),
        [NumberRange(1, 16, _l("Enter 1 to 16."))],
        default=8,
        description=_l("Requests in flight at most; the pace above decides how fast they start."),
    )

    def validate_api_base_url(self, field):
        self._custom_url(field, _l("Enter the API base URL for custom URLs."))

    def validate_auth_base_url(self, field):
        self._custom_url(field, _l("Enter the auth base URL for custom URLs."))

    def _custom_url(self, field, missing_message):
        """Required with custom URLs (and then http or https, where the URL policy allows); ignored for
        production and sandbox."""
        if self.environment.data != "custom":
            return
        if not field.data:
            raise ValidationError(missing_message)
        URL(require_tld=False, message=_l("Enter a URL."))(self, field)
        ProviderURL()(self, field)
