"""``hub export <exporter> --from D --to D …``: one command per installed exporter, its options from its form.

The CSV exporter's command is ``hub export csv --from D --to D [--format …] [--encoding …] [--integration NAME]
[--department X] [--member CODE …] [-o FILE]`` (DESIGN.md, "CLI"). Without ``-o`` the file goes to standard
output; with it, to a temporary file beside FILE that is renamed once complete, so a failed export leaves no
file. Exit status: 0 written, 1 the export failed (the reason on stderr), 2 bad arguments.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub.characters import TEXT
from hub.dates import DateOutOfRange, check_record_date
from hub.exporters import Exporter, ExportError
from hub.exports.query import ExportFilter
from hub.exports.service import parse_member_codes, run_export, unknown_member_codes
from hub.extensions import db
from hub.forms import with_text_checks
from hub.models import Integration, Member
from hub.plugins import exporters

EXIT_FAILED = 1
COMMON = ("start", "end", "integration", "department", "members", "output")


class ExportGroup(click.Group):
    """Lists a command per exporter the installed plugins offer."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(exporters(_app(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        app = _app(ctx)
        exporter = exporters(app).get(name)
        return None if exporter is None else exporter_command(app, exporter)


def _app(ctx: click.Context) -> Flask:
    return ctx.ensure_object(ScriptInfo).load_app()


export_group = ExportGroup("export", help="Export attendance days (one command per installed exporter).")


def exporter_command(app: Flask, exporter: Exporter) -> click.Command:
    """A command with the common period/filter/output options and one option per field of the options form."""
    option_params = _form_options(app, exporter)

    @with_appcontext
    def callback(**values: Any) -> None:
        flt = _filter(values)
        options = _options(exporter, {key: value for key, value in values.items() if key not in COMMON})
        output: Path | None = values["output"]
        try:
            if output is None:
                sys.stdout.flush()
                count = run_export(exporter, flt, options, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                count = _write_file(exporter, flt, options, output)
        except ExportError as exc:
            click.echo(f"Nothing was exported: {exc}" if output else f"Export failed: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        where = f" to {output}" if output else ""
        click.echo(f"Exported {count} row(s){where}.", err=True)

    params = [
        click.Option(["--from", "start"], required=True, metavar="YYYY-MM-DD", help="First work date (inclusive)."),
        click.Option(["--to", "end"], required=True, metavar="YYYY-MM-DD", help="Last work date (inclusive)."),
        *option_params,
        click.Option(
            ["--integration"], type=TEXT, metavar="NAME", help="Only days synced from this integration (連携名)."
        ),
        click.Option(["--department"], type=TEXT, metavar="X", help="Only members of this department (部署)."),
        click.Option(
            ["--member", "members"],
            type=TEXT,
            multiple=True,
            metavar="CODE",
            help="Only this member (社員コード); repeatable.",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write to FILE (replaced only once the export is complete) instead of standard output.",
        ),
    ]
    return click.Command(
        exporter.name,
        callback=callback,
        params=params,
        help=f"Export the attendance days of a period as {exporter.label}, ordered by employee code and date.\n\n"
        "Exit status: 0 written, 1 the export failed, 2 bad arguments.",
        short_help=f"Export attendance as {exporter.label}.",
    )


def _form_options(app: Flask, exporter: Exporter) -> list[click.Option]:
    """``--name`` per field of the exporter's options form: a choice for a select, a flag for a checkbox."""
    if exporter.options_form is None:
        return []
    with app.app_context():
        form = exporter.options_form(meta={"csrf": False}, formdata=None)
        params = []
        for field in form:
            flag = "--" + field.name.replace("_", "-")
            help_text = str(field.label.text)
            if field.type == "BooleanField":
                params.append(click.Option([f"{flag}/--no-{flag[2:]}", field.name], default=bool(field.default)))
            elif field.type in ("SelectField", "RadioField"):
                values = [str(choice[0]) for choice in field.iter_choices()]
                params.append(
                    click.Option(
                        [flag, field.name],
                        type=click.Choice(values),
                        default=field.default,
                        show_default=True,
                        help=help_text,
                    )
                )
            else:
                params.append(click.Option([flag, field.name], default=field.default, help=help_text))
        return params


def _options(exporter: Exporter, given: Mapping[str, Any]) -> dict[str, Any]:
    """The options as the exporter's form validates them (the same rules as on the web page)."""
    if exporter.options_form is None:
        return {}
    data = MultiDict()
    for name, value in given.items():
        if isinstance(value, bool):
            if value:
                data[name] = "y"
        elif value is not None:
            data[name] = str(value)
    form = with_text_checks(exporter.options_form)(formdata=data, meta={"csrf": False})
    if not form.validate():
        problems = "; ".join(
            f"--{name.replace('_', '-')}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
        )
        raise click.UsageError(problems)
    return dict(form.data)


def _filter(values: Mapping[str, Any]) -> ExportFilter:
    start, end = _date(values["start"], "--from"), _date(values["end"], "--to")
    if end < start:
        raise click.BadParameter("the last day must not be before the first day (--from).", param_hint="--to")
    integration_id = None
    if values["integration"]:
        integration_id = db.session.scalar(select(Integration.id).where(Integration.name == values["integration"]))
        if integration_id is None:
            raise click.BadParameter(f"no integration named {values['integration']}.", param_hint="--integration")
    department = values["department"] or None
    if department is not None and not db.session.scalar(select(Member.id).where(Member.department == department)):
        raise click.BadParameter(f"no member is in department {department}.", param_hint="--department")
    codes = parse_member_codes(values["members"])
    unknown = unknown_member_codes(codes)
    if unknown:
        raise click.BadParameter(f"no member has the code(s) {', '.join(unknown)}.", param_hint="--member")
    return ExportFilter(start, end, integration_id, department, codes)


def _date(value: str, option: str) -> date:
    try:
        return check_record_date(date.fromisoformat(value))
    except DateOutOfRange as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    except ValueError:
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD.", param_hint=option) from None


def _write_file(exporter: Exporter, flt: ExportFilter, options: dict[str, Any], output: Path) -> int:
    """Export into a temporary file beside ``output``, then rename it: never a half-written ``output``."""
    target = output.resolve()
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            count = run_export(exporter, flt, options, stream)
        os.chmod(temporary, 0o666 & ~_umask())  # as a file created directly would be, not mkstemp's 0600
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
