"""Running a CSV importer (:mod:`hub.csvfiles`) for an admin: the upload page and the ``hub … import`` command.

Both run the importer alike: its summary on success (flashed, or printed), every bad line and nothing imported
otherwise. The file is known by its own name, without the folder a browser or a shell put before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import flash, redirect, render_template, url_for
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired

from hub.csvfiles import Importer, ImportFailed, RowError, source_name
from hub.extensions import db
from hub.forms import HubForm


class ImportForm(HubForm):
    file = FileField(
        _l("CSV file"),
        [FileRequired(_l("Choose a CSV file.")), FileAllowed(["csv", "txt"], _l("Choose a .csv file."))],
    )


def import_page(importer: Importer, template: str, done: str, **context: Any) -> ResponseReturnValue:
    """An import page: the upload form; on a good file the summary is flashed and the browser sent to ``done``
    (an endpoint), otherwise the page again with every bad line and nothing imported."""
    form = ImportForm()
    errors: list[RowError] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = importer(upload.read(), source_name(upload.filename or ""))
        except ImportFailed as failure:
            db.session.rollback()
            errors = failure.errors
        else:
            flash(result.summary(), "success")
            return redirect(url_for(done))
    return render_template(template, form=form, errors=errors, **context)


def import_command(importer: Importer, help: str) -> click.Command:
    """A ``hub … import FILE`` command: the summary, or every bad line on stderr and exit 1 with nothing
    imported."""

    @click.command("import", help=help)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @with_appcontext
    def command(file: Path) -> None:
        try:
            result = importer(file.read_bytes(), file.name)
        except ImportFailed as failure:
            db.session.rollback()
            for error in failure.errors:
                click.echo(f"{file}: {error}", err=True)
            raise click.ClickException(_("Nothing was imported.")) from failure
        click.echo(result.summary())

    return command
