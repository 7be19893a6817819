"""勤怠 pages: start a sync, its result, the run history, and members from unmatched employees."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from hub import audit, crowdlog
from hub.attendance.csv_import import import_attendance
from hub.attendance.forms import SyncForm
from hub.codes import CodeError, checked_code, normalize_code
from hub.extensions import db
from hub.importing import import_page
from hub.models import AuditLog, Integration, IssueKind, Member, SyncIssue, SyncRun, Trigger
from hub.settings.service import company_today
from hub.sync.lifecycle import SyncError, request_cancel, start_run
from hub.sync.report import ISSUE_ORDER, duration_seconds
from hub.sync.tasks import run_in_background

bp = Blueprint("attendance", __name__, url_prefix="/admin/attendance")
HISTORY = 30


@bp.route("/", methods=["GET", "POST"])
def index():
    """Choose an integration and period, run the sync, and see the history."""
    integrations = db.session.scalars(select(Integration).order_by(Integration.name)).all()
    today = company_today()
    form = SyncForm(start=today.replace(day=1), end=today)
    form.integration.choices = [SelectChoice(str(item.id), item.name) for item in integrations]
    if form.validate_on_submit():
        integration = db.session.get(Integration, form.integration.data)
        try:
            run = start_run(
                integration, form.start.data, form.end.data, Trigger.MANUAL, user_id=current_user.id, queued=True
            )
        except SyncError as exc:
            flash(str(exc), "error")
        else:
            run_in_background(run.id)
            return redirect(url_for("attendance.run", run_id=run.id))
    runs = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(HISTORY)).all()
    return render_template(
        "attendance/index.html", form=form, integrations=integrations, runs=runs, duration=duration_seconds
    )


@bp.route("/runs/<int:run_id>")
def run(run_id: int):
    """One run: status, counts, and what could not be synced."""
    sync_run = db.get_or_404(SyncRun, run_id)
    grouped = {kind: [issue for issue in sync_run.issues if issue.kind is kind] for kind in ISSUE_ORDER}
    creatable = _creatable(sync_run)
    return render_template(
        "attendance/run.html", run=sync_run, grouped=grouped, duration=duration_seconds(sync_run), creatable=creatable
    )


@bp.route("/runs/<int:run_id>/cancel", methods=["POST"])
def cancel(run_id: int):
    """Cancel a queued run, or ask a running one to stop; nothing unfinished is written."""
    sync_run = db.get_or_404(SyncRun, run_id)
    if request_cancel(sync_run):
        flash(_("Cancelling sync #%(id)d; nothing it has not finished will be written.", id=sync_run.id), "info")
    else:
        flash(_("Sync #%(id)d has already ended.", id=sync_run.id), "error")
    return redirect(url_for("attendance.run", run_id=sync_run.id))


@bp.route("/runs/<int:run_id>/members", methods=["GET", "POST"])
def create_members(run_id: int):
    """Preview the provider's unmatched employees as new members, then create the selected ones."""
    sync_run = db.get_or_404(SyncRun, run_id)
    candidates = _creatable(sync_run)
    if request.method == "POST":
        chosen = set(request.form.getlist("issue"))
        created = []
        for issue in candidates:
            if str(issue.id) in chosen:
                member = Member(
                    code=normalize_code(issue.employee_code), name=issue.employee_name or issue.employee_code
                )
                db.session.add(member)
                created.append(member.code)
        if created:
            audit.record("members.create_from_sync", target=f"run {sync_run.id}", details={"codes": created})
            db.session.commit()
            flash(
                _("%(count)d members created. Sync again to bring in their attendance.", count=len(created)), "success"
            )
        else:
            flash(_("No employee was selected."), "error")
        return redirect(url_for("attendance.run", run_id=sync_run.id))
    return render_template("attendance/create_members.html", run=sync_run, candidates=candidates)


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    """Import attendance from a crowdlog-format CSV file, all rows or none."""
    imports = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "attendance.import").order_by(AuditLog.id.desc()).limit(HISTORY)
    ).all()
    header = ",".join(crowdlog.HEADER)
    return import_page(
        import_attendance, "attendance/import.html", "attendance.import_csv", header=header, imports=imports
    )


def _creatable(sync_run: SyncRun) -> list[SyncIssue]:
    """Unmatched employees whose code a member could have (no invisible character) and no member uses yet."""
    issues = [
        issue
        for issue in sync_run.issues
        if issue.kind is IssueKind.UNMATCHED_REMOTE and issue.employee_code and _acceptable(issue.employee_code)
    ]
    codes = {normalize_code(issue.employee_code) for issue in issues}
    taken = set(db.session.scalars(select(Member.code).where(Member.code.in_(codes)))) if codes else set()
    unique, seen = [], set()
    for issue in issues:
        code = normalize_code(issue.employee_code)
        if code not in taken and code not in seen:
            seen.add(code)
            unique.append(issue)
    return unique


def _acceptable(code: str) -> bool:
    try:
        checked_code(code, "")
    except CodeError:
        return False  # a look-alike of a real code: the admin fixes it in the HR system, not here
    return True
