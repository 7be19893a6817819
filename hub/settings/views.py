"""基本設定 pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from hub import audit
from hub.extensions import db
from hub.settings.forms import TimesheetSettingsForm
from hub.settings.service import current_settings

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


@bp.route("/", methods=["GET", "POST"])
def timesheet():
    """Show and save タイムシート設定."""
    settings = current_settings()
    form = TimesheetSettingsForm(obj=settings)
    if form.validate_on_submit():
        before = {name: getattr(settings, name) for name in _editable(form)}
        form.populate_obj(settings)
        after = {name: getattr(settings, name) for name in _editable(form)}
        diff = audit.changes(before, after)
        if diff:
            audit.record("settings.update", target="timesheet", details=diff)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("settings.timesheet"))
    return render_template("settings/timesheet.html", form=form)


def _editable(form: TimesheetSettingsForm) -> list[str]:
    return [field.name for field in form if field.name != "csrf_token"]
