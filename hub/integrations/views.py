"""外部連携 pages: list, add (choose provider → form → 連携), edit, test connection, delete."""

from __future__ import annotations

from babel.lists import format_list
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from hub import audit
from hub.extensions import db
from hub.forms import secret_bindings, secret_field_names
from hub.integrations.forms import integration_form_class, provider_fields, provider_values
from hub.integrations.service import (
    SECRET_TARGET_CHANGED,
    IntegrationError,
    check_edit,
    check_integration,
    check_values,
    delete_integration,
    name_taken,
    provider_for,
    provider_named,
    save_integration,
)
from hub.models import Integration
from hub.plugins import providers

bp = Blueprint("integrations", __name__, url_prefix="/admin/integrations")


@bp.route("/")
def index():
    """List integrations with their auto sync switch and settings link."""
    integrations = db.session.scalars(select(Integration).order_by(Integration.name)).all()
    return render_template("integrations/index.html", integrations=integrations, providers=providers())


@bp.route("/new")
def choose():
    """Choose which attendance system to connect."""
    return render_template("integrations/choose.html", providers=providers())


@bp.route("/new/<provider_name>", methods=["GET", "POST"])
def new(provider_name: str):
    """The provider's form; 連携 checks the credentials and saves only when they work."""
    provider = _provider_or_404(provider_name)
    form = integration_form_class(provider)()
    if form.validate_on_submit():
        if name_taken(form.name.data):
            form.name.errors.append(_("An integration named %(name)s already exists.", name=form.name.data))
        else:
            values = provider_values(form)
            result = check_values(provider, form.name.data, values)
            if result.ok:
                integration = save_integration(
                    provider, form.name.data, values, form.auto_sync.data == "on", priority=form.priority.data
                )
                db.session.commit()
                flash(
                    _(
                        "%(provider)s settings (%(name)s) connected.",
                        provider=provider.settings_title,
                        name=integration.name,
                    ),
                    "success",
                )
                flash(_("Attendance is synced from Admin › Attendance."), "info")
                return redirect(url_for("integrations.index"))
            return _render_form(provider, form, None, check_error=result.message)
    return _render_form(provider, form, None)


@bp.route("/<int:integration_id>/edit", methods=["GET", "POST"])
def edit(integration_id: int):
    """Edit an integration; a blank secret keeps the stored one unless its connection target changed."""
    integration = db.get_or_404(Integration, integration_id)
    provider = _provider_of(integration)
    form_class = integration_form_class(provider)
    stored = integration.read_secrets()
    if request.method == "POST":
        form = form_class(formdata=_with_stored_secrets(provider, stored))
    else:
        form = form_class(
            data={
                "name": integration.name,
                "auto_sync": "on" if integration.auto_sync else "off",
                "priority": integration.priority,
                **(integration.settings or {}),
            }
        )
    if form.validate_on_submit():
        if name_taken(form.name.data, integration):
            form.name.errors.append(_("An integration named %(name)s already exists.", name=form.name.data))
            return _render_form(provider, form, integration)
        values = provider_values(form)
        entered = {name for name in secret_field_names(provider.settings_form) if request.form.get(name)}
        outcome = check_edit(provider, integration, form.name.data, values, entered)
        for name in outcome.stale_secrets:
            form[name].errors.append(SECRET_TARGET_CHANGED)
        if not outcome.ok:
            check_error = outcome.result.message if outcome.result is not None else None
            return _render_form(provider, form, integration, check_error=check_error)
        save_integration(
            provider, form.name.data, values, form.auto_sync.data == "on", integration, priority=form.priority.data
        )
        db.session.commit()
        flash(_("Integration %(name)s saved.", name=integration.name), "success")
        return redirect(url_for("integrations.index"))
    return _render_form(provider, form, integration)


@bp.route("/<int:integration_id>/check", methods=["POST"])
def check(integration_id: int):
    """Test the connection with the stored credentials."""
    integration = db.get_or_404(Integration, integration_id)
    result = check_integration(_provider_of(integration), integration)
    db.session.commit()
    flash(result.message or _("Connected."), "success" if result.ok else "error")
    if request.form.get("back") == "edit":
        return redirect(url_for("integrations.edit", integration_id=integration.id))
    return redirect(url_for("integrations.index"))


@bp.route("/<int:integration_id>/auto-sync", methods=["POST"])
def toggle_auto_sync(integration_id: int):
    """Switch 自動同期 on or off."""
    integration = db.get_or_404(Integration, integration_id)
    integration.auto_sync = not integration.auto_sync
    audit.record(
        "integration.update",
        target=integration.name,
        details={"auto_sync": [not integration.auto_sync, integration.auto_sync]},
    )
    db.session.commit()
    return redirect(url_for("integrations.index"))


@bp.route("/<int:integration_id>/delete", methods=["GET", "POST"])
def delete(integration_id: int):
    """Ask for confirmation, then delete the integration (synced attendance stays)."""
    integration = db.get_or_404(Integration, integration_id)
    if request.method == "POST":
        name = integration.name
        delete_integration(integration)
        db.session.commit()
        flash(_("Integration %(name)s deleted.", name=name), "success")
        return redirect(url_for("integrations.index"))
    return render_template("integrations/delete.html", integration=integration)


def _provider_or_404(name: str):
    try:
        return provider_named(name)
    except IntegrationError:
        abort(404)


def _provider_of(integration: Integration):
    try:
        return provider_for(integration)
    except IntegrationError as exc:
        abort(409, description=str(exc))


def _with_stored_secrets(provider, stored: dict) -> CombinedMultiDict:
    """The submitted form, with the stored value standing in for each secret left blank."""
    fill = MultiDict()
    submitted = request.form
    for name in secret_field_names(provider.settings_form):
        if not submitted.get(name) and stored.get(name):
            fill[name] = stored[name]
    data = MultiDict(submitted)
    for name, value in fill.items():
        data.setlist(name, [value])
    return CombinedMultiDict([data, request.files])


def _bound_labels(form, bound: tuple[str, ...]) -> str:
    """The labels of the settings a secret is bound to, for the hint under it: "A, B or C"."""
    return format_list([str(form[name].label.text) for name in bound], style="or", locale=get_locale()) if bound else ""


def _render_form(provider, form, integration, check_error: str | None = None):
    bindings = secret_bindings(provider.settings_form)
    return render_template(
        "integrations/form.html",
        provider=provider,
        form=form,
        integration=integration,
        fields=provider_fields(form),
        check_error=check_error,
        secrets={name: _bound_labels(form, bound) for name, bound in bindings.items()},
    )
