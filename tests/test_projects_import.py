"""Projects CSV import and listing: encodings, English names, NFKC codes, upsert, the 有効 flag, line-numbered
errors with nothing imported, the form's code and name rules, audit, the CLI and the web page."""

from __future__ import annotations

import html
import io
import json

import pytest
from sqlalchemy import event, select

from hub.extensions import db
from hub.manhours.projects import CODE_MAX_LENGTH, NAME_MAX_LENGTH
from hub.models import AuditLog, Project

PROJECTS_CSV = (
    "プロジェクトコード,プロジェクト名,有効\r\nPRJ-A,基幹システム刷新,はい\r\nPRJ-B,社内研修,いいえ\r\nPRJ-C,保守,\r\n"
)


@pytest.fixture
def existing(app):
    """PRJ-A active and OLD inactive, as if added on the project page."""
    with app.app_context():
        db.session.add_all([Project(code="PRJ-A", name="Alpha"), Project(code="OLD", name="Old", active=False)])
        db.session.commit()


def projects(app) -> dict[str, tuple[str, bool]]:
    with app.app_context():
        return {project.code: (project.name, project.active) for project in db.session.scalars(select(Project))}


def audit_entries(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def import_file(runner, tmp_path, content: bytes, name="projects.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return runner.invoke(args=["projects", "import", str(path)]), path


def refused_lines(result, path) -> list[str]:
    assert result.exit_code == 1, result.output
    assert "Nothing was imported." in result.output
    prefix = f"{path}: "
    return [line.removeprefix(prefix) for line in result.output.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_cli_import_in_every_encoding(app, runner, tmp_path, encoding):
    result, _ = import_file(runner, tmp_path, PROJECTS_CSV.encode(encoding))
    assert result.exit_code == 0, result.output
    assert result.output == "Imported 3 projects: 3 added, 0 updated, 0 unchanged.\n"
    assert projects(app) == {
        "PRJ-A": ("基幹システム刷新", True),
        "PRJ-B": ("社内研修", False),
        "PRJ-C": ("保守", True),  # a blank 有効 makes a new project active
    }


def test_english_names_in_any_order_and_no_active_column(app, runner, tmp_path):
    result, _ = import_file(runner, tmp_path, b"name,CODE\nAlpha,PRJ-A\n")
    assert result.exit_code == 0, result.output
    result, _ = import_file(runner, tmp_path, b"active,project_name,project_code\nfalse,Beta,PRJ-B\n")
    assert result.exit_code == 0, result.output
    assert projects(app) == {"PRJ-A": ("Alpha", True), "PRJ-B": ("Beta", False)}


def test_codes_are_compared_after_nfkc(app, runner, tmp_path, existing):
    content = (
        "プロジェクトコード,プロジェクト名,有効\n ＰＲＪ－Ａ ,Alpha 2,ＹＥＳ\nＰＲＪ－Ｘ,New,\n'-Z,Dash,\n".encode()
    )
    result, _ = import_file(runner, tmp_path, content)
    assert result.exit_code == 0, result.output
    assert "Imported 3 projects: 2 added, 1 updated, 0 unchanged." in result.output
    assert projects(app) == {
        "PRJ-A": ("Alpha 2", True),
        "PRJ-X": ("New", True),
        "-Z": ("Dash", True),  # a code an exporter protected with ' is read as typed
        "OLD": ("Old", False),
    }


def test_upsert_updates_changed_projects_and_leaves_the_rest_unwritten(app, runner, tmp_path, existing):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        content = "プロジェクトコード,プロジェクト名,有効\nPRJ-A,Alpha,1\nOLD,Old,0\nPRJ-B,Beta,0\n".encode()
        result, _ = import_file(runner, tmp_path, content)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert result.exit_code == 0, result.output
    assert "Imported 3 projects: 1 added, 0 updated, 2 unchanged." in result.output
    writes = [statement.split("(")[0].split(" SET")[0].strip().upper() for statement in statements]
    assert "INSERT INTO PROJECTS" in writes  # the listener sees the writes...
    assert "UPDATE PROJECTS" not in writes  # ...and none rewrote PRJ-A or OLD
    assert audit_entries(app, "project.update") == []
    assert projects(app)["PRJ-B"] == ("Beta", False)

    content = "プロジェクトコード,プロジェクト名,有効\nPRJ-A,Alpha,無効\nOLD,Old renamed,\n".encode()
    result, _ = import_file(runner, tmp_path, content)
    assert "Imported 2 projects: 0 added, 2 updated, 0 unchanged." in result.output
    assert projects(app) == {"PRJ-A": ("Alpha", False), "OLD": ("Old renamed", False), "PRJ-B": ("Beta", False)}


@pytest.mark.parametrize(
    "content",
    [
        "プロジェクトコード,プロジェクト名,有効\nPRJ-A,Alpha,\nOLD,Old,\nNEW,New,\n",
        "プロジェクトコード,プロジェクト名\nPRJ-A,Alpha\nOLD,Old\nNEW,New\n",
    ],
    ids=["blank", "no column"],
)
def test_a_blank_or_missing_active_keeps_the_flag_of_existing_projects(app, runner, tmp_path, existing, content):
    result, _ = import_file(runner, tmp_path, content.encode())
    assert result.exit_code == 0, result.output
    assert "Imported 3 projects: 1 added, 0 updated, 2 unchanged." in result.output
    assert projects(app) == {"PRJ-A": ("Alpha", True), "OLD": ("Old", False), "NEW": ("New", True)}


@pytest.mark.parametrize(
    ("cell", "active"),
    [
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("False", False),
        ("Yes", True),
        ("no", False),
        ("はい", True),
        ("いいえ", False),
        ("有効", True),
        ("無効", False),
        ("ｙｅｓ", True),
        ("１", True),
    ],
)
def test_accepted_active_values(app, runner, tmp_path, existing, cell, active):
    result, _ = import_file(runner, tmp_path, f"code,name,active\nOLD,Old,{cell}\nPRJ-A,Alpha,{cell}\n".encode())
    assert result.exit_code == 0, result.output
    assert projects(app)["OLD"] == ("Old", active) and projects(app)["PRJ-A"] == ("Alpha", active)


def test_every_bad_line_is_named_and_nothing_is_imported(app, runner, tmp_path, existing):
    before = projects(app)
    content = (
        "プロジェクトコード,プロジェクト名,有効\n"
        "PRJ-B,Fine,1\n"  # fine, but the file is refused as a whole
        ",No code,1\n"
        "PRJ-C,,1\n"
        f"{'X' * (CODE_MAX_LENGTH + 1)},Long code,1\n"
        f"PRJ-D,{'名' * (NAME_MAX_LENGTH + 1)},1\n"
        "PRJ-E,Maybe,たぶん\n"
        "ＰＲＪ－Ｂ,Twice,1\n"
        "PRJ-F,Extra,1,x\n"
    )
    result, path = import_file(runner, tmp_path, content.encode())
    assert refused_lines(result, path) == [
        "Line 3: プロジェクトコード is empty.",
        "Line 4: プロジェクト名 is empty.",
        f"Line 5: プロジェクトコード is longer than {CODE_MAX_LENGTH} characters.",
        f"Line 6: プロジェクト名 is longer than {NAME_MAX_LENGTH} characters.",
        "Line 7: 有効 “たぶん” is not one of 1/0, true/false, yes/no, はい/いいえ, 有効/無効.",
        "Line 8: Project code PRJ-B is already on line 2.",
        "Line 9: The row has 4 cells; the header has 3.",
    ]
    assert projects(app) == before
    assert audit_entries(app, "projects.import") == [] and audit_entries(app, "project.create") == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("プロジェクトコード,有効\nPRJ-A,1\n", "Line 1: The column “プロジェクト名” is missing."),
        ("code,name,メモ\nPRJ-A,Alpha,x\n", "Line 1: The column “メモ” is unknown."),
        ("プロジェクトコード,プロジェクト名\n\n", "Line 2: The file has a header but no projects."),
        ("", "Line 1: The file is empty."),
    ],
)
def test_file_level_problems(app, runner, tmp_path, content, expected):
    result, path = import_file(runner, tmp_path, content.encode())
    assert refused_lines(result, path)[0] == expected
    assert projects(app) == {}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("X" * CODE_MAX_LENGTH, "N" * NAME_MAX_LENGTH),
        ("X" * (CODE_MAX_LENGTH + 1), "Name"),
        ("Code", "N" * (NAME_MAX_LENGTH + 1)),
        ("　", "Name"),
        ("Code", " "),
    ],
)
def test_the_import_and_the_project_form_accept_the_same_codes_and_names(app, runner, logged_in, tmp_path, code, name):
    form_accepts = logged_in.post("/admin/manhours/new", data={"code": code, "name": name}).status_code == 302
    with app.app_context():
        db.session.execute(Project.__table__.delete())
        db.session.commit()
    result, _ = import_file(runner, tmp_path, f"code,name\n{code},{name}\n".encode())
    assert (result.exit_code == 0) == form_accepts, result.output
    assert len(projects(app)) == (1 if form_accepts else 0)


def test_audit_entries_match_the_project_page(app, runner, tmp_path, existing):
    content = "プロジェクトコード,プロジェクト名,有効\nPRJ-A,Alpha 2,0\nNEW,New,\nOLD,Old,\n".encode()
    import_file(runner, tmp_path, content, name="案件.csv")
    (created,) = audit_entries(app, "project.create")
    assert (created.target, created.actor, created.details) == ("NEW", "cli", {"name": "New", "active": True})
    (updated,) = audit_entries(app, "project.update")
    assert updated.target == "PRJ-A" and updated.details == {"name": ["Alpha", "Alpha 2"], "active": [True, False]}
    (summary,) = audit_entries(app, "projects.import")
    assert (summary.target, summary.actor) == ("案件.csv", "cli")
    assert summary.details == {"created": 1, "updated": 1, "unchanged": 1}


def test_list_text_and_json(app, runner, existing):
    with app.app_context():
        db.session.add(Project(code="B-2", name="基幹システム"))
        db.session.commit()
    result = runner.invoke(args=["projects", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "B-2    active    基幹システム",
        "OLD    inactive  Old",
        "PRJ-A  active    Alpha",
    ]
    result = runner.invoke(args=["projects", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"code": "B-2", "name": "基幹システム", "active": True},
        {"code": "OLD", "name": "Old", "active": False},
        {"code": "PRJ-A", "name": "Alpha", "active": True},
    ]


def test_list_without_projects(runner):
    assert runner.invoke(args=["projects", "list"]).output == "No projects.\n"
    assert json.loads(runner.invoke(args=["projects", "list", "--json"]).stdout) == []


def test_an_imported_file_lists_as_imported(app, runner, tmp_path):
    import_file(runner, tmp_path, PROJECTS_CSV.encode("cp932"))
    listed = json.loads(runner.invoke(args=["projects", "list", "--json"]).stdout)
    assert [(row["code"], row["name"], row["active"]) for row in listed] == sorted(
        (code, name, active) for code, (name, active) in projects(app).items()
    )


def upload(client, content: bytes, name="projects.csv"):
    return client.post(
        "/admin/manhours/projects/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def errors_of(response) -> list[str]:
    page = response.get_data(as_text=True)
    assert "Nothing was imported." in page
    section = page.split('<section class="card errors"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(item.split("</li>")[0]) for item in section.split("<li>")[1:]]


def test_web_import(app, logged_in, existing):
    response = upload(logged_in, PROJECTS_CSV.encode("utf-8-sig"))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/manhours/"
    page = logged_in.get("/admin/manhours/").get_data(as_text=True)
    assert "Imported 3 projects: 2 added, 1 updated, 0 unchanged." in page
    assert projects(app)["PRJ-A"] == ("基幹システム刷新", True) and projects(app)["PRJ-B"] == ("社内研修", False)
    (summary,) = audit_entries(app, "projects.import")
    assert (summary.target, summary.actor) == ("projects.csv", "admin@example.com")
    assert {entry.actor for entry in audit_entries(app, "project.create")} == {"admin@example.com"}


def test_web_import_lists_bad_lines_and_imports_nothing(app, logged_in, existing):
    before = projects(app)
    content = "プロジェクトコード,プロジェクト名,有効\nPRJ-B,Beta,1\nPRJ-C,,1\nPRJ-D,Delta,x\n".encode()
    response = upload(logged_in, content)
    assert response.status_code == 200
    assert errors_of(response) == [
        "Line 3: プロジェクト名 is empty.",
        "Line 4: 有効 “x” is not one of 1/0, true/false, yes/no, はい/いいえ, 有効/無効.",
    ]
    assert projects(app) == before


def test_the_projects_page_links_the_import_page_which_explains_the_format(logged_in):
    assert 'href="/admin/manhours/projects/import"' in logged_in.get("/admin/manhours/").get_data(as_text=True)
    page = logged_in.get("/admin/manhours/projects/import").get_data(as_text=True)
    for column in ("プロジェクトコード", "プロジェクト名", "有効"):
        assert f"<code>{column}</code>" in page
    assert "1/0, true/false, yes/no, はい/いいえ, 有効/無効" in page
    assert 'enctype="multipart/form-data"' in page


def test_the_import_page_requires_login(app, client, existing):
    for response in (client.get("/admin/manhours/projects/import"), upload(client, b"code,name\nNEW,New\n")):
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "NEW" not in projects(app)
