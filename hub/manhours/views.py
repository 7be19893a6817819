"""管理 › プロジェクト: the projects man-hours are booked on, and the projects and 工数 CSV imports."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from hub.extensions import db
from hub.importing import import_page
from hub.manhours import projects_import
from hub.manhours.forms import ProjectForm
from hub.manhours.importer import COLUMNS, import_manhours
from hub.manhours.projects import add_project, update_project
from hub.models import Project, TimeEntry
from hub.settings.service import current_settings

bp = Blueprint("manhours", __name__, url_prefix="/admin/manhours")


@bp.route("/")
def index():
    """List the projects with how many man-hours entries each holds."""
    entries = (
        select(TimeEntry.project_id, func.count(TimeEntry.id).label("entries"))
        .group_by(TimeEntry.project_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Project, func.coalesce(entries.c.entries, 0))
        .outerjoin(entries, entries.c.project_id == Project.id)
        .order_by(Project.code)
    ).all()
    return render_template("manhours/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a project."""
    form = ProjectForm()
    if form.validate_on_submit() and _code_is_free(form, None):
        project = add_project(form.code.data, form.name.data, form.active.data)
        db.session.commit()
        flash(_("Project %(code)s added.", code=project.code), "success")
        return redirect(url_for("manhours.index"))
    return render_template("manhours/form.html", form=form, project=None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
def edit(project_id: int):
    """Edit a project's code, name or active flag."""
    project = db.get_or_404(Project, project_id)
    form = ProjectForm(obj=project)
    if form.validate_on_submit() and _code_is_free(form, project):
        update_project(project, code=form.code.data, name=form.name.data, active=form.active.data)
        db.session.commit()
        flash(_("Project %(code)s saved.", code=project.code), "success")
        return redirect(url_for("manhours.index"))
    return render_template("manhours/form.html", form=form, project=project)


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    """Import man-hours (工数) from a CSV file, all lines or none."""
    unit = current_settings().input_unit
    return import_page(import_manhours, "manhours/import.html", "manhours.index", columns=COLUMNS, unit=unit)


@bp.route("/projects/import", methods=["GET", "POST"])
def import_projects_csv():
    """Import projects from a CSV file, all lines or none."""
    return import_page(
        projects_import.import_projects,
        "manhours/import_projects.html",
        "manhours.index",
        columns=projects_import.COLUMNS,
        active_values=projects_import.accepted_active_values(),
    )


def _code_is_free(form: ProjectForm, project: Project | None) -> bool:
    other = db.session.scalar(select(Project).where(Project.code == form.code.data))
    if other is not None and other is not project:
        form.code.errors.append(
            _("Project code %(code)s is already used by %(name)s.", code=other.code, name=other.name)
        )
        return False
    return True
