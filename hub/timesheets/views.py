"""タイムシート pages: choose a member and month, the month with its day bars, and one day's man-hours."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.dates import DateOutOfRange, check_record_date
from hub.extensions import db
from hub.forms import format_duration, format_hhmm
from hub.manhours.forms import day_form
from hub.manhours.rules import EntryError
from hub.manhours.service import active_projects, day_entries, save_day
from hub.models import DayState, Member
from hub.records import LeaveKind
from hub.settings.service import company_today, current_settings
from hub.timesheets import review
from hub.timesheets.days import axis_end, member_month, month_bounds, month_totals, spans, state_counts
from hub.timesheets.forms import ReviewForm
from hub.timesheets.report import departments, month_report

bp = Blueprint("timesheets", __name__, url_prefix="/timesheets")


@bp.app_template_filter("duration")
def duration_filter(minutes: int | None, signed: bool = False) -> str:
    return format_duration(minutes, signed)


@bp.app_template_filter("hhmm")
def hhmm_filter(minutes: int | None) -> str:
    return format_hhmm(minutes)


@bp.app_template_filter("leave_text")
def leave_text(row) -> str:
    """全休 / 午前休 / 午後休 and each 時間休 of a day, in the reader's language."""
    parts = {
        LeaveKind.FULL: [_("Full-day leave")],
        LeaveKind.AM: [_("Morning leave")],
        LeaveKind.PM: [_("Afternoon leave")],
    }.get(row.leave, [])
    parts += [
        _("Hourly leave %(start)s–%(end)s", start=format_hhmm(start), end=format_hhmm(end))
        for start, end in row.hourly_leaves
    ]
    text = " / ".join(parts)
    return f"{text} ({row.leave_name})" if text and row.leave_name else text


def parse_month(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        return None


def _member_or_404(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        abort(404)
    return member


@bp.route("/")
def index():
    """Pick a member and a month (also where the sidebar link lands)."""
    month = parse_month(request.args.get("month")) or company_today().replace(day=1)
    code = (request.args.get("member") or "").strip()
    members = db.session.scalars(select(Member).order_by(Member.code)).all()
    if code:
        member = next((item for item in members if item.code == code), None)
        if member is not None:
            return redirect(url_for(".month", member_id=member.id, month=f"{month:%Y-%m}"))
        flash(_("No member has the code “%(code)s”.", code=code), "error")
    return render_template("timesheets/index.html", members=members, month=month, today=company_today())


@bp.route("/<int:member_id>/<month>")
def month(member_id: int, month: str):
    """The member's month: one row per date with its bar, times, man-hours, difference and mark."""
    member = _member_or_404(member_id)
    first = _month_or_404(month)
    settings = current_settings()
    rows = member_month(member, first, settings)
    axis = axis_end(rows)
    return render_template(
        "timesheets/month.html",
        member=member,
        first=first,
        rows=rows,
        bars={row.work_date: spans(row, settings) for row in rows},
        axis=axis,
        hours=range(0, axis // 60 + 1, 6),
        totals=month_totals(rows),
        states=state_counts(member.id, *month_bounds(first)),
        previous=_shift(first, -1),
        following=_shift(first, 1),
        members=db.session.scalars(select(Member).order_by(Member.code)).all(),
        settings=settings,
        form=ReviewForm(),
    )


@bp.route("/<int:member_id>/<month>/review", methods=["POST"])
def review_month(member_id: int, month: str):
    """Submit every open day of the month that has attendance or man-hours, or approve the submitted ones."""
    member = _member_or_404(member_id)
    first = _month_or_404(month)
    form = ReviewForm()
    action = _action_or_400(form)
    rows = member_month(member, first, current_settings())
    if action is review.Action.SUBMIT:
        dates = [row.work_date for row in rows if row.state is DayState.DRAFT and (row.has_attendance or row.manhours)]
    else:
        dates = [row.work_date for row in rows if row.state is DayState.SUBMITTED]
    changed = review.apply(action, member, dates)
    flash(_done_message(action, len(changed)), "success" if changed else "info")
    return redirect(url_for(".month", member_id=member.id, month=month))


@bp.route("/<int:member_id>/day/<day>", methods=["GET", "POST"])
def day(member_id: int, day: str):
    """One date: its attendance and bar, the man-hours per project, and submit / approve / reopen."""
    member = _member_or_404(member_id)
    work_date = _date_or_404(day)
    settings = current_settings()
    entries = day_entries(member, work_date)
    form = day_form(entries, active_projects(), settings.input_unit)
    row = next(row for row in member_month(member, work_date, settings) if row.work_date == work_date)
    if form.validate_on_submit():
        try:
            changed = save_day(member, work_date, form.booked())
        except EntryError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Man-hours saved.") if changed else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for(".month", member_id=member.id, month=f"{work_date:%Y-%m}", _anchor=f"d{day}"))
    return render_template(
        "timesheets/day.html",
        member=member,
        row=row,
        bar=spans(row, settings),
        axis=axis_end([row]),
        hours=range(0, axis_end([row]) // 60 + 1, 6),
        form=form,
        review_form=ReviewForm(),
        projects_exist=bool(entries) or len(form.new_project.choices) > 1,
        settings=settings,
    )


@bp.route("/<int:member_id>/day/<day>/review", methods=["POST"])
def review_day(member_id: int, day: str):
    member = _member_or_404(member_id)
    work_date = _date_or_404(day)
    action = _action_or_400(ReviewForm())
    changed = review.apply(action, member, [work_date])
    flash(_done_message(action, len(changed)), "success" if changed else "info")
    return redirect(url_for(".day", member_id=member.id, day=day))


def _action_or_400(form) -> review.Action:
    if not form.validate_on_submit():
        abort(400)
    return review.Action(form.action.data)


def _done_message(action: review.Action, count: int) -> str:
    if action is review.Action.SUBMIT:
        return _("%(count)d day(s) submitted.", count=count)
    if action is review.Action.APPROVE:
        return _("%(count)d day(s) approved.", count=count)
    return _("%(count)d day(s) reopened.", count=count)


def _month_or_404(text: str) -> date:
    first = parse_month(text)
    if first is None or not _plausible(first):
        abort(404)
    return first


def _date_or_404(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        abort(404)
    if not _plausible(day):
        abort(404)
    return day


def _plausible(day: date) -> bool:
    """Inside the record window: a day page must not store man-hours on 9999-12-31."""
    try:
        check_record_date(day)
    except DateOutOfRange:
        return False
    return True


def _shift(first: date, months: int) -> str:
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


reports = Blueprint("reports", __name__, url_prefix="/reports")
REPORT_PAGE = 50


@reports.route("/", endpoint="index")
def report():
    """Every member × day of a month with its mark; members with the most mismatches first."""
    first = parse_month(request.args.get("month")) or company_today().replace(day=1)
    department = request.args.get("department") or None
    only_mismatches = request.args.get("mismatches") == "1"
    dates, rows = month_report(first, current_settings(), department)
    if only_mismatches:
        rows = [row for row in rows if row.mismatches]
    page = max(request.args.get("page", 1, type=int), 1)
    pages = max(-(-len(rows) // REPORT_PAGE), 1)
    return render_template(
        "timesheets/report.html",
        first=first,
        month=f"{first:%Y-%m}",
        dates=dates,
        rows=rows[(page - 1) * REPORT_PAGE : page * REPORT_PAGE],
        total=len(rows),
        page=page,
        pages=pages,
        department=department,
        departments=departments(),
        only_mismatches=only_mismatches,
        previous=_shift(first, -1),
        following=_shift(first, 1),
    )
