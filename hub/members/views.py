"""メンバー pages."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select

from hub import audit
from hub.codes import normalize_code
from hub.extensions import db
from hub.importing import import_page
from hub.members.fields import format_unit_price
from hub.members.forms import EndMemberForm, MemberForm
from hub.members.importer import COLUMNS, import_members
from hub.models import Member
from hub.settings.service import company_today

bp = Blueprint("members", __name__, url_prefix="/admin/members")
STATUSES = ("active", "ended", "all")
MAX_PAGE = 100_000


@bp.app_template_filter("unit_price")
def _unit_price_filter(member: Member) -> str:
    return format_unit_price(member.unit_price, member.price_unit)


@bp.route("/")
def index():
    """List members, searched by code, name or department, a page at a time."""
    query = request.args.get("q", "").strip()
    status = request.args.get("status", "active")
    status = status if status in STATUSES else "active"
    statement = select(Member).order_by(Member.code)
    if query:
        pattern = f"%{_escape_like(query)}%"
        code_pattern = f"%{_escape_like(normalize_code(query))}%"
        statement = statement.where(
            or_(
                Member.code.ilike(code_pattern, escape="\\"),
                Member.name.ilike(pattern, escape="\\"),
                Member.department.ilike(pattern, escape="\\"),
            )
        )
    today = company_today()
    if status == "active":
        statement = statement.where(or_(Member.end_date.is_(None), Member.end_date >= today))
    elif status == "ended":
        statement = statement.where(Member.end_date < today)
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    page = db.paginate(statement, page=number, per_page=current_app.config["HUB_MEMBERS_PER_PAGE"], error_out=False)
    return render_template("members/index.html", page=page, query=query, status=status, today=today)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a member."""
    form = MemberForm().with_integrations()
    if form.validate_on_submit() and _code_is_free(form, None):
        member = Member(**form.member_values())
        db.session.add(member)
        audit.record("member.create", target=member.code)
        db.session.commit()
        flash(_("Member %(code)s added.", code=member.code), "success")
        return redirect(url_for("members.index"))
    return render_template("members/form.html", form=form, member=None)


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
def edit(member_id: int):
    """Edit a member's details."""
    member = db.get_or_404(Member, member_id)
    form = MemberForm(obj=member).with_integrations()
    if request.method == "GET" and member.price_unit:
        form.price_unit.data = member.price_unit.value
    if form.validate_on_submit() and _code_is_free(form, member):
        values = form.member_values()
        before = {key: getattr(member, key) for key in values}
        for key, value in values.items():
            setattr(member, key, value)
        diff = audit.changes(before, values)
        if diff:
            audit.record("member.update", target=member.code, details=diff)
        db.session.commit()
        flash(_("Member %(code)s saved.", code=member.code), "success")
        return redirect(url_for("members.index"))
    end_form = EndMemberForm(end_date=member.end_date or company_today())
    return render_template("members/form.html", form=form, member=member, end_form=end_form)


@bp.route("/<int:member_id>/end", methods=["POST"])
def end(member_id: int):
    """End a member's membership on a given last day (終了日)."""
    member = db.get_or_404(Member, member_id)
    form = EndMemberForm()
    if form.validate_on_submit():
        if member.start_date and form.end_date.data < member.start_date:
            flash(_("The end date must not be before the start date."), "error")
        else:
            audit.record(
                "member.end",
                target=member.code,
                details={"end_date": [str(member.end_date), str(form.end_date.data)]},
            )
            member.end_date = form.end_date.data
            db.session.commit()
            flash(_("Member %(code)s ends on %(date)s.", code=member.code, date=member.end_date), "success")
            return redirect(url_for("members.index"))
    else:
        for error in form.end_date.errors:
            flash(error, "error")
    return redirect(url_for("members.edit", member_id=member.id))


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    """Import members from a CSV file, all rows or none."""
    return import_page(import_members, "members/import.html", "members.index", columns=COLUMNS)


@bp.route("/template.csv")
def csv_template():
    """An empty members CSV with the header row, ready for Excel."""
    header = ",".join(names[0] for names in COLUMNS.values())
    example = 'P1001,工数 太郎,プロダクトマネジメント,,,,"月額 ¥1,000,000",2005-01-01,,'
    body = ("\ufeff" + header + "\r\n" + example + "\r\n").encode("utf-8")
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=members.csv"})


def _code_is_free(form: MemberForm, member: Member | None) -> bool:
    other = db.session.scalar(select(Member).where(Member.code == form.code.data))
    if other is not None and other is not member:
        form.code.errors.append(
            _("Employee code %(code)s is already used by %(name)s.", code=other.code, name=other.name)
        )
        return False
    return True


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
