"""`hub integrations add|list|check`."""

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
    IntegrationError,
    check_values,
    name_taken,
    provider_for,
    provider_named,
    provider_settings,
    save_integration,
)
from hub.models import Health, Integration

EXIT_FAILED, EXIT_USAGE = 1, 2


@click.group("integrations")
def integrations_group() -> None:
    """Integrations with attendance systems (外部連携)."""


@integrations_group.command("add")
@click.argument("provider_name", metavar="PROVIDER", type=TEXT)
@click.argument("name", type=TEXT)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A settings field of the provider; VALUE '-' reads it from standard input (for secrets).",
)
@click.option("--no-auto-sync", is_flag=True, help="Do not sync automatically every morning.")
@with_appcontext
def add_command(provider_name: str, name: str, assignments: tuple[str, ...], no_auto_sync: bool) -> None:
    """Verify the credentials, then save an integration (nothing is saved when they fail)."""
    try:
        provider = provider_named(provider_name)
    except IntegrationError as exc:
        _usage(str(exc))
    data = MultiDict({"name": name, "auto_sync": "off" if no_auto_sync else "on"})
    form_class = integration_form_class(provider)
    boolean_fields = {field.name for field in form_class(meta={"csrf": False}) if field.type == "BooleanField"}
    for field in boolean_fields:  # a checkbox's default applies when the field is not given
        default = getattr(form_class, field).kwargs.get("default")
        if default:
            data[field] = "y"
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
        fields = ", ".join(sorted(known - {"name", "auto_sync"}))
        _usage(f"Unknown field(s) for {provider.name}: {', '.join(unknown)} (fields: {fields}).")
    if not form.validate():
        for field, errors in form.errors.items():
            for error in errors:
                click.echo(f"{field}: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if name_taken(name):
        _usage(f"An integration named {name} already exists.")
    values = provider_values(form)
    result = check_values(provider, name, values)
    if not result.ok:
        click.echo(f"Not saved: {result.message}", err=True)
        sys.exit(EXIT_FAILED)
    integration = save_integration(provider, name, values, not no_auto_sync)
    db.session.commit()
    click.echo(f"Integration {integration.name} ({provider.label}) saved; id {integration.id}.")


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
        click.echo(f"{row['id']:>4}  {row['name']}  [{row['provider']}]  {row['health']}  {auto}")


@integrations_group.command("check")
@click.argument("name", type=TEXT)
@with_appcontext
def check_command(name: str) -> None:
    """Test an integration's stored credentials and scopes."""
    integration = db.session.scalar(select(Integration).where(Integration.name == name))
    if integration is None:
        _usage(f"No integration named {name}.")
    result = provider_for(integration).check(provider_settings(integration))
    integration.health = Health.OK if result.ok else Health.ERROR
    integration.health_message = None if result.ok else result.message
    db.session.commit()
    if not result.ok:
        click.echo(f"{name}: {result.status}: {result.message}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"{name}: ok. {result.message}")


def _usage(message: str):
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)
