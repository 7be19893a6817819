"""The hub's base form and the form fields shared by the core and by plugins' settings forms."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import TextInput

from hub.characters import LINE_BREAKS_AND_TABS, control_character
from hub.codes import CodeError, checked_code, normalize_code
from hub.providers import URLNotAllowed, URLPolicy

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")

#: Fields the core's integration form puts around a provider's settings form: a provider must not use them.
CORE_FIELDS = ("csrf_token", "name", "auto_sync", "priority")


class _NoControlCharacters:
    """Refuses a submitted value holding a control character (:mod:`hub.characters`); a text area may hold
    tabs and line breaks. Runs first and stops the field's other checks, so none of them queries with it."""

    def __init__(self, multiline: bool):
        self.allowed = LINE_BREAKS_AND_TABS if multiline else ""

    def __call__(self, form, field) -> None:
        for value in field.raw_data or ():
            if isinstance(value, str) and control_character(value, self.allowed) is not None:
                raise StopValidation(_l("Remove control characters (such as NUL) from this field."))


class HubForm(FlaskForm):
    """The base of every form of the hub: each text field (any StringField, so also passwords, e-mail
    addresses, URLs and text areas) refuses control characters with a message on the field."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if isinstance(field, StringField):
                check = _NoControlCharacters(multiline=isinstance(field, TextAreaField))
                field.validators = [check, *field.validators]
            return field


@cache
def with_text_checks(form_class: type[FlaskForm]) -> type[FlaskForm]:
    """``form_class`` with :class:`HubForm`'s checks: how the core uses a plugin's form (a plain FlaskForm)."""
    if issubclass(form_class, HubForm):
        return form_class
    return type(form_class.__name__, (HubForm, form_class), {"__module__": form_class.__module__})


class CodeField(StringField):
    """An employee or project code, normalized as :func:`hub.codes.normalize_code` compares codes; one with an
    invisible character left inside (a zero-width space, a BOM) is refused: it would look like another code."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("filters", [normalize_code])
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form) -> None:
        try:
            checked_code(self.data, str(self.label.text))
        except CodeError as exc:
            raise StopValidation(str(exc)) from exc


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


def format_duration(minutes: int | None, signed: bool = False) -> str:
    """``"8:00"`` (H:MM) for a duration of 480 minutes; with ``signed``, ``"+0:30"`` / ``"-1:15"`` (and ``"0:00"``);
    empty for None."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ("+" if signed and minutes > 0 else "")
    minutes = abs(minutes)
    return f"{sign}{minutes // 60}:{minutes % 60:02d}"


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


class WholeNumberField(IntegerField):
    """A whole number as people type it: full-width digits (１０) and spaces around it are accepted (NFKC), a
    blank field is ``blank``; anything else is an error on the field. A text input, not ``type=number``: a
    browser would send a number field holding "百" as blank, hiding the mistake."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, blank=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "size": 5})
        super().__init__(label, validators, **kwargs)
        self.blank = blank

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = unicodedata.normalize("NFKC", str(valuelist[0])).strip()
        if not text:
            self.data = self.blank
            return
        if not _WHOLE_NUMBER.fullmatch(text):
            self.data = None
            raise ValueError(_l("Enter a whole number, such as 10."))
        self.data = int(text)

    def pre_validate(self, form) -> None:
        if self.process_errors:  # not a number: its one error says so, a range check would add another
            raise StopValidation()
