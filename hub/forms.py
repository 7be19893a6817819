"""Form fields shared by the core and by plugins' settings forms."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import ValidationError

from hub.providers import URLNotAllowed, URLPolicy

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

#: Fields the core's integration form puts around a provider's settings form: a provider must not use them.
CORE_FIELDS = ("csrf_token", "name", "auto_sync")


class SecretField(PasswordField):
    """A write-only secret: never rendered back, stored encrypted; blank on edit keeps the old value.

    ``bound_to`` names the settings fields that say where the secret is sent (an environment, a base URL):
    when one of them changes, the stored secret is not reused and must be entered again.
    """

    is_secret = True

    def __init__(self, label=None, validators=None, bound_to: tuple[str, ...] = (), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.bound_to = tuple(bound_to)


def secret_field_names(form_class) -> list[str]:
    """Names of the fields of ``form_class`` that hold secrets."""
    return list(secret_bindings(form_class))


def secret_bindings(form_class) -> dict[str, tuple[str, ...]]:
    """Each secret field of ``form_class`` with the fields it is bound to (``SecretField(bound_to=…)``)."""
    bindings = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name)
        if getattr(unbound, "field_class", None) is not None and getattr(unbound.field_class, "is_secret", False):
            bindings[name] = tuple(unbound.kwargs.get("bound_to", ()))
    return bindings


class ProviderURL:
    """Validates a custom provider URL against the hub's :class:`hub.providers.URLPolicy`; blank passes."""

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            URLPolicy.configured().check(field.data)
        except URLNotAllowed as exc:
            raise ValidationError(_("%(field)s: %(reason)s", field=field.label.text, reason=exc)) from exc


def parse_hhmm(text: str) -> int:
    """Minutes from midnight for ``"HH:MM"`` (00:00–23:59); ValueError otherwise."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(text)
    return int(match.group(1)) * 60 + int(match.group(2))


def format_hhmm(minutes: int | None) -> str:
    """``"HH:MM"`` for minutes from midnight; hours go past 24 for the next morning (26:10)."""
    if minutes is None:
        return ""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TimeOfDayField(StringField):
    """A time of day typed as HH:MM, held as minutes from midnight (``None`` when blank)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": "HH:MM", "inputmode": "numeric", "size": 5})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_hhmm(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = parse_hhmm(valuelist[0])
            except ValueError as exc:
                raise ValidationError(_l("Enter a time as HH:MM (00:00–23:59).")) from exc
