"""Man-hours forms: a timesheet day (one duration per booked project, plus one row to book another), and
the project add/edit form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from hub.forms import CodeField, HubForm, format_duration
from hub.manhours.projects import CODE_MAX_LENGTH, NAME_MAX_LENGTH
from hub.manhours.rules import EntryError, check_minutes, parse_duration


class DurationField(StringField):
    """Minutes typed as ``1:30`` or ``90``; blank is 0. ``unit`` is checked at validation."""

    def __init__(self, label=None, validators=None, unit: int = 15, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": "H:MM", "inputmode": "numeric", "size": 6})
        super().__init__(label, validators, **kwargs)
        self.unit = unit

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_duration(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        self.data = 0
        if valuelist and valuelist[0].strip():
            try:
                self.data = parse_duration(valuelist[0])
            except EntryError as exc:
                self.data = None
                raise ValueError(str(exc)) from exc

    def pre_validate(self, form):
        if self.data is None:
            return
        try:
            check_minutes(self.data, self.unit)
        except EntryError as exc:
            raise ValidationError(str(exc)) from exc


def day_form(entries, projects, unit: int, formdata=None) -> HubForm:
    """A form with a field ``project_<id>`` per booked project and ``new_project``/``new_minutes``."""

    class DayForm(HubForm):
        new_project = SelectField(_l("Project"), choices=[], default="")
        new_minutes = DurationField(_l("Man-hours"), unit=unit)

        def validate_new_minutes(self, field):
            if field.data and not self.new_project.data:
                raise ValidationError(_l("Choose the project to book these man-hours on."))

        def booked(self) -> dict[int, int]:
            values = {
                int(name.removeprefix("project_")): field.data
                for name, field in self._fields.items()
                if name.startswith("project_")
            }
            if self.new_project.data and self.new_minutes.data:
                project_id = int(self.new_project.data)
                values[project_id] = values.get(project_id, 0) + self.new_minutes.data
            return values

    booked_ids = {entry.project_id for entry in entries}
    for entry in entries:
        setattr(
            DayForm,
            f"project_{entry.project_id}",
            DurationField(f"{entry.project.code} {entry.project.name}", unit=unit, default=entry.minutes),
        )
    form = DayForm(formdata=formdata) if formdata is not None else DayForm()
    form.new_project.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(project.id), f"{project.code} {project.name}")
        for project in projects
        if project.id not in booked_ids
    ]
    return form


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ProjectForm(HubForm):
    code = CodeField(_l("Project code"), [DataRequired(_l("Enter the project code.")), Length(max=CODE_MAX_LENGTH)])
    name = StringField(
        _l("Project name"), [DataRequired(_l("Enter the project name.")), Length(max=NAME_MAX_LENGTH)], filters=[_strip]
    )
    active = BooleanField(_l("Active (man-hours can be booked on it)"), default=True)
