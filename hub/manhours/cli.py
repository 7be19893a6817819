"""`hub manhours import` and `hub projects import|list`."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.extensions import db
from hub.importing import import_command
from hub.manhours.importer import import_manhours
from hub.manhours.projects_import import import_projects
from hub.models import Project


@click.group("manhours")
def manhours_group() -> None:
    """Man-hours (工数)."""


manhours_group.add_command(
    import_command(
        import_manhours,
        "Import man-hours from a CSV file (社員コード, 年月日, プロジェクトコード, 工数); all lines or none.",
    )
)


@click.group("projects")
def projects_group() -> None:
    """Projects (プロジェクト) man-hours are booked on."""


projects_group.add_command(
    import_command(
        import_projects,
        "Import projects from a CSV file (プロジェクトコード, プロジェクト名, 有効); all lines or none.",
    )
)


@projects_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of {code, name, active}.")
@with_appcontext
def projects_list_command(as_json: bool) -> None:
    """List all projects by code."""
    rows = [
        {"code": project.code, "name": project.name, "active": project.active}
        for project in db.session.scalars(select(Project).order_by(Project.code))
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No projects.")
    width = max((len(row["code"]) for row in rows), default=0)
    for row in rows:
        click.echo(f"{row['code']:<{width}}  {'active' if row['active'] else 'inactive':<8}  {row['name']}")
