"""The integration form: the core's fields (連携名, 自動同期, 優先度) around the provider's own settings form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from hub.forms import CORE_FIELDS, HubForm, WholeNumberField
from hub.providers import Provider

#: The range of an integration's priority (優先度); every integration starts at 0.
MIN_PRIORITY, MAX_PRIORITY = 0, 99


class IntegrationCoreForm(HubForm):
    name = StringField(
        _l("Integration name"),
        [DataRequired(_l("Enter a name that tells this integration apart.")), Length(max=100)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    auto_sync = RadioField(
        _l("Auto sync"),
        choices=[SelectChoice("on", _l("Use")), SelectChoice("off", _l("Do not use"))],
        default="on",
    )
    priority = WholeNumberField(
        _l("Priority"),
        [NumberRange(min=MIN_PRIORITY, max=MAX_PRIORITY, message=_l("Enter a priority from 0 to 99."))],
        default=0,
        blank=0,
    )


def integration_form_class(provider: Provider) -> type[FlaskForm]:
    """A form class with the core fields and the provider's settings fields."""
    return type(f"{provider.name.title()}IntegrationForm", (IntegrationCoreForm, provider.settings_form), {})


def provider_fields(form: FlaskForm) -> list:
    return [field for field in form if field.name not in CORE_FIELDS]


def provider_values(form: FlaskForm) -> dict:
    return {field.name: field.data for field in provider_fields(form)}
