"""エクスポート: choose the period, filters and format, and download the file."""

from __future__ import annotations

import calendar
import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import SelectChoice

from hub.exporters import Exporter, ExportError
from hub.exports.forms import ExportForm
from hub.exports.query import ExportFilter
from hub.exports.service import run_export
from hub.extensions import db
from hub.forms import with_text_checks
from hub.models import Integration
from hub.plugins import exporters
from hub.settings.service import company_today
from hub.timesheets.report import departments

bp = Blueprint("exports", __name__, url_prefix="/exports")
#: The file is written here first and sent once complete; past this size the spool moves to a temporary file.
SPOOL_MEMORY = 8 * 1024 * 1024
OPTIONS_PREFIX = "options-"
DEFAULT_EXPORTER = "csv"


@bp.route("/", methods=["GET", "POST"])
def index():
    """The export form; a valid POST answers with the file as a download."""
    available = exporters()
    exporter = _chosen(available)
    today = company_today()
    form = ExportForm(
        start=today.replace(day=1), end=today.replace(day=calendar.monthrange(today.year, today.month)[1])
    )
    integrations = db.session.execute(select(Integration.id, Integration.name).order_by(Integration.name)).all()
    form.integration.choices = [SelectChoice("", _("All integrations"))] + [
        SelectChoice(str(item.id), item.name) for item in integrations
    ]
    form.department.choices = [SelectChoice("", _("All departments"))] + [
        SelectChoice(name, name) for name in departments()
    ]
    options = _options_form(exporter)
    if request.method == "POST" and exporter is not None:
        valid = form.validate_on_submit()
        if options is not None and not options.validate():
            valid = False
        if valid:
            flt = ExportFilter(
                start=form.start.data,
                end=form.end.data,
                integration_id=int(form.integration.data) if form.integration.data else None,
                department=form.department.data or None,
                member_codes=form.member_codes,
            )
            chosen = _options_data(options)
            try:
                return _download(exporter, flt, chosen)
            except ExportError as exc:
                form.form_errors.append(str(exc))
    return render_template(
        "exports/index.html", form=form, options=options, exporter=exporter, exporters=list(available.values())
    )


def _chosen(available: dict[str, Exporter]) -> Exporter | None:
    """The exporter of ``?exporter=``; by default CSV when installed (DESIGN's export), else the first."""
    name = request.args.get("exporter")
    if name is None:
        return available.get(DEFAULT_EXPORTER) or next(iter(available.values()), None)
    if name not in available:
        abort(404)
    return available[name]


def _options_form(exporter: Exporter | None):
    if exporter is None or exporter.options_form is None:
        return None
    # One CSRF token guards the page (the main form's); the options are read from the same POST.
    return with_text_checks(exporter.options_form)(prefix=OPTIONS_PREFIX, meta={"csrf": False})


def _options_data(options) -> dict[str, Any]:
    return {} if options is None else dict(options.data)


def _download(exporter: Exporter, flt: ExportFilter, options: dict[str, Any]) -> Response:
    """Write the whole file to a spool first: an error becomes a message on the page, never half a file."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - closed by _chunks
    try:
        run_export(exporter, flt, options, spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    name = f"kintai_{exporter.file_label(options)}_{flt.start:%Y-%m-%d}_{flt.end:%Y-%m-%d}.{exporter.file_extension}"
    response = Response(_chunks(spool), content_type=exporter.content_type(options), direct_passthrough=True)
    response.headers.set("Content-Disposition", "attachment", filename=secure_filename(name) or "export")
    response.headers["Cache-Control"] = "no-store"  # personal data: no copy in caches
    response.content_length = size
    return response


def _chunks(spool, size: int = 64 * 1024) -> Iterator[bytes]:
    """The spooled file in pieces, closed once sent (or once the client has gone)."""
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()
