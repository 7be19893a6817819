"""管理 › プロジェクト: the projects list with entry counts, add and edit, unique codes, and the audit log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditLog, Member, Project, TimeEntry


def projects(app) -> dict[str, Project]:
    with app.app_context():
        return {project.code: project for project in db.session.scalars(select(Project))}


def audit_entries(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


@pytest.fixture
def booked(app):
    """Two projects, one inactive; three entries on the first."""
    with app.app_context():
        member = Member(code="P1001", name="工数 太郎")
        alpha, beta = Project(code="PRJ-A", name="Alpha"), Project(code="PRJ-B", name="Beta", active=False)
        db.session.add_all([member, alpha, beta])
        db.session.flush()
        for day in (1, 2, 3):
            db.session.add(
                TimeEntry(member_id=member.id, work_date=date(2025, 4, day), project_id=alpha.id, minutes=60)
            )
        db.session.commit()
        return {"alpha": alpha.id, "beta": beta.id}


def test_list_shows_code_name_state_and_entry_count(logged_in, booked):
    page = logged_in.get("/admin/manhours/").get_data(as_text=True)
    alpha_row = page.split('<td class="code">PRJ-A</td>', 1)[1].split("</tr>", 1)[0]
    beta_row = page.split('<td class="code">PRJ-B</td>', 1)[1].split("</tr>", 1)[0]
    assert "Alpha" in alpha_row and "Active" in alpha_row and '<td class="num">3</td>' in alpha_row
    assert "Beta" in beta_row and "Inactive" in beta_row and '<td class="num">0</td>' in beta_row
    assert page.index("PRJ-A") < page.index("PRJ-B")
    assert 'href="/admin/manhours/import"' in page


def test_sidebar_links_projects_right_after_members(logged_in):
    page = logged_in.get("/").get_data(as_text=True)
    members = page.index('href="/admin/members/"')
    projects_link = page.index('href="/admin/manhours/"')
    assert members < projects_link
    assert page[members:projects_link].count("<li>") == 1  # the Projects item itself, nothing in between


def test_empty_list(logged_in):
    assert "No project yet." in logged_in.get("/admin/manhours/").get_data(as_text=True)


def test_add_project_normalizes_the_code_and_audits(app, logged_in):
    response = logged_in.post("/admin/manhours/new", data={"code": " ＰＲＪ－１ ", "name": " 新規開発 ", "active": "y"})
    assert response.status_code == 302
    project = projects(app)["PRJ-1"]
    assert (project.name, project.active) == ("新規開発", True)
    assert "Project PRJ-1 added." in logged_in.get("/admin/manhours/").get_data(as_text=True)
    (entry,) = audit_entries(app, "project.create")
    assert entry.target == "PRJ-1" and entry.actor == "admin@example.com"
    assert entry.details == {"name": "新規開発", "active": True}


def test_add_an_inactive_project(app, logged_in):
    assert logged_in.post("/admin/manhours/new", data={"code": "OLD", "name": "Old"}).status_code == 302
    assert projects(app)["OLD"].active is False


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "", "name": "Alpha"}, "code", "Enter the project code."),
        ({"code": "PRJ-X", "name": "  "}, "name", "Enter the project name."),
        ({"code": "X" * 65, "name": "Alpha"}, "code", "Field cannot be longer than 64 characters."),
    ],
)
def test_add_project_errors_are_shown_on_their_field(app, logged_in, data, field, message):
    response = logged_in.post("/admin/manhours/new", data=data)
    assert response.status_code == 200
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.get_data(as_text=True)
    assert projects(app) == {}


def test_codes_are_unique_after_normalization(app, logged_in, booked):
    response = logged_in.post("/admin/manhours/new", data={"code": "ＰＲＪ－Ａ", "name": "Copy", "active": "y"})
    assert response.status_code == 200
    assert '<p class="field-error" id="code-error">Project code PRJ-A is already used by Alpha.</p>' in (
        response.get_data(as_text=True)
    )
    assert len(projects(app)) == 2


def test_edit_project_and_audit_the_changes(app, logged_in, booked):
    form = logged_in.get(f"/admin/manhours/{booked['alpha']}/edit").get_data(as_text=True)
    assert 'value="PRJ-A"' in form and 'value="Alpha"' in form
    response = logged_in.post(f"/admin/manhours/{booked['alpha']}/edit", data={"code": "PRJ-A", "name": "Alpha 2"})
    assert response.status_code == 302
    project = projects(app)["PRJ-A"]
    assert (project.name, project.active) == ("Alpha 2", False)
    (entry,) = audit_entries(app, "project.update")
    assert entry.details == {"name": ["Alpha", "Alpha 2"], "active": [True, False]}
    with app.app_context():  # the entries stay with the project
        assert db.session.scalar(select(TimeEntry.project_id).limit(1)) == booked["alpha"]


def test_saving_without_a_change_writes_no_audit_entry(app, logged_in, booked):
    data = {"code": "PRJ-A", "name": "Alpha", "active": "y"}
    assert logged_in.post(f"/admin/manhours/{booked['alpha']}/edit", data=data).status_code == 302
    assert audit_entries(app, "project.update") == []


def test_edit_cannot_take_another_projects_code(app, logged_in, booked):
    response = logged_in.post(f"/admin/manhours/{booked['beta']}/edit", data={"code": "prj-a ", "name": "Beta"})
    assert response.status_code == 302  # codes keep their case: prj-a is another code
    response = logged_in.post(f"/admin/manhours/{booked['alpha']}/edit", data={"code": "prj-a", "name": "Alpha"})
    assert "Project code prj-a is already used by Beta." in response.get_data(as_text=True)
    assert set(projects(app)) == {"PRJ-A", "prj-a"}


def test_unknown_project_is_404(logged_in):
    assert logged_in.get("/admin/manhours/999/edit").status_code == 404
    assert logged_in.get("/admin/manhours/99999999999/edit").status_code == 404
