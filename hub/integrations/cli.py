"""`hub integrations add|edit|list|check`."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub.characters import TEXT
from hub.extensions import db
from hub.integrations.forms import integration_form_class, provider_values
from hub.integrations.service import (
    CLI_CHECK_SECONDS,
    SECRET_TARGET_CHANGED,
    IntegrationError,
    check_edit,
    check_integration,
    check_values,
    name_taken,
    provider_for,
    provider_named,
    save_integration,
)
from hub.models import Integration
from hub.providers import Provider

EXIT_FAILED, EXIT_USAGE = 1, 2


_settings_option = click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A settings field of the provider; VALUE '-' reads it from standard input (for secrets).",
)


_priority_option = click.option(
    "--priority",
    type=TEXT,
    metavar="N",
    help="優先度 0–99 (default 0): when two integrations sync one member's day, the higher keeps it.",
)


@click.group("integrations")
def integrations_group() -> None:
    """Integrations with attendance systems (外部連携)."""


@integrations_group.command("add")
@click.argument("provider_name", metavar="PROVIDER", type=TEXT)
@click.argument("name", type=TEXT)
@_settings_option
@click.option("--no-auto-sync", is_flag=True, help="Do not sync automatically every morning.")
@_priority_option
@with_appcontext
def add_command(
    provider_name: str, name: str, assignments: tuple[str, ...], no_auto_sync: bool, priority: str | None
) -> None:
    """Verify the credentials, then save an integration (nothing is saved when they fail)."""
    try:
        provider = provider_named(provider_name)
    except IntegrationError as exc:
        _usage(str(exc))
    data = MultiDict({"name": name, "auto_sync": "off" if no_auto_sync else "on"})
    if priority is not None:
        data["priority"] = priority
    form_class = integration_form_class(provider)
    for field in _boolean_fields(form_class):  # a checkbox's default applies when the field is not given
        if getattr(form_class, field).kwargs.get("default"):
            data[field] = "y"
    form = _filled_form(provider, form_class, data, assignments)
    name = form.name.data  # --set name=… and --set auto_sync=… are form fields like the others
    if name_taken(name):
        _usage(f"An integration named {name} already exists.")
    values = provider_values(form)
    result = check_values(provider, name, values, CLI_CHECK_SECONDS)
    if not result.ok:
        click.echo(f"Not saved: {result.message}", err=True)
        sys.exit(EXIT_FAILED)
    integration = save_integration(provider, name, values, form.auto_sync.data == "on", priority=form.priority.data)
    db.session.commit()
    click.echo(f"Integration {integration.name} ({provider.label}) saved; id {integration.id}.")


@integrations_group.command("edit")
@click.argument("name", type=TEXT)
@_settings_option
@_priority_option
@with_appcontext
def edit_command(name: str, assignments: tuple[str, ...], priority: str | None) -> None:
    """Change an integration's settings; a secret not given keeps its stored value, unless a setting it is
    bound to (its environment or URL) changes. Changed settings are verified first, as with add; a new
    priority alone needs no check."""
    integration = _integration_named(name)
    try:
        provider = provider_for(integration)
    except IntegrationError as exc:
        _usage(str(exc))
    stored = {**(integration.settings or {}), **integration.read_secrets()}
    data = MultiDict({"name": integration.name, "auto_sync": "on" if integration.auto_sync else "off"})
    data.update({field: _form_text(value) for field, value in stored.items() if _form_text(value) is not None})
    data["priority"] = str(integration.priority if priority is None else priority)
    form_class = integration_form_class(provider)
    for field in _boolean_fields(form_class) - {f for f, value in stored.items() if value is not None}:
        if getattr(form_class, field).kwargs.get("default"):  # a setting saved before the field existed
            data[field] = "y"
    form = _filled_form(provider, form_class, data, assignments)
    if name_taken(form.name.data, integration):
        _usage(f"An integration named {form.name.data} already exists.")
    values = provider_values(form)
    given = {assignment.partition("=")[0] for assignment in assignments}
    outcome = check_edit(provider, integration, form.name.data, values, given, CLI_CHECK_SECONDS)
    for field in outcome.stale_secrets:
        click.echo(f"{field}: {SECRET_TARGET_CHANGED} (--set {field}=-)", err=True)
    if outcome.stale_secrets:
        sys.exit(EXIT_USAGE)
    if not outcome.ok:
        click.echo(f"Not saved: {outcome.result.message}", err=True)
        sys.exit(EXIT_FAILED)
    save_integration(
        provider, form.name.data, values, form.auto_sync.data == "on", integration, priority=form.priority.data
    )
    db.session.commit()
    click.echo(f"Integration {integration.name} ({provider.label}) saved.")


@integrations_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def list_command(as_json: bool) -> None:
    """List integrations (secrets are never shown)."""
    integrations = db.session.scalars(select(Integration).order_by(Integration.name)).all()
    rows = [
        {
            "id": item.id,
            "name": item.name,
            "provider": item.provider,
            "auto_sync": item.auto_sync,
            "priority": item.priority,
            "health": str(item.health),
            "health_message": item.health_message,
            "last_success_at": item.last_success_at.isoformat() if item.last_success_at else None,
        }
        for item in integrations
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No integrations.")
    for row in rows:
        auto = "auto sync on" if row["auto_sync"] else "auto sync off"
        click.echo(
            f"{row['id']:>4}  {row['name']}  [{row['provider']}]  {row['health']}  {auto}  priority {row['priority']}"
        )


@integrations_group.command("check")
@click.argument("name", type=TEXT)
@with_appcontext
def check_command(name: str) -> None:
    """Test an integration's stored credentials and scopes."""
    integration = _integration_named(name)
    result = check_integration(provider_for(integration), integration, CLI_CHECK_SECONDS)
    db.session.commit()
    if not result.ok:
        click.echo(f"{name}: {result.status}: {result.message}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"{name}: ok. {result.message}")


def _filled_form(provider: Provider, form_class, data: MultiDict, assignments: tuple[str, ...]):
    """The integration form with ``data`` and each ``--set FIELD=VALUE`` on top, validated; exits 2 on an
    unknown field or an invalid value."""
    data = MultiDict(data)
    boolean_fields = _boolean_fields(form_class)
    for assignment in assignments:
        field, sep, value = assignment.partition("=")
        if not sep:
            _usage(f"--set {assignment!r}: use FIELD=VALUE.")
        if value == "-":
            value = sys.stdin.readline().rstrip("\r\n")
        if field in boolean_fields:
            if value.lower() in ("1", "true", "yes", "on", "y"):
                data[field] = "y"
            else:
                data.pop(field, None)
            continue
        data[field] = value
    form = form_class(formdata=data, meta={"csrf": False})
    known = {field.name for field in form}
    unknown = sorted({a.partition("=")[0] for a in assignments} - known)
    if unknown:
        fields = ", ".join(sorted(known - {"name", "auto_sync", "priority"}))
        _usage(f"Unknown field(s) for {provider.name}: {', '.join(unknown)} (fields: {fields}).")
    if not form.validate():
        for field, errors in form.errors.items():
            for error in errors:
                click.echo(f"{field}: {error}", err=True)
        sys.exit(EXIT_USAGE)
    return form


def _boolean_fields(form_class) -> set[str]:
    return {field.name for field in form_class(meta={"csrf": False}) if field.type == "BooleanField"}


def _form_text(value) -> str | None:
    """A stored setting as a form posts it: a checked box is "y", an unchecked one is absent."""
    if value is True:
        return "y"
    return None if value is None or value is False else str(value)


def _integration_named(name: str) -> Integration:
    integration = db.session.scalar(select(Integration).where(Integration.name == name))
    if integration is None:
        _usage(f"No integration named {name}.")
    return integration


def _usage(message: str):
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)
