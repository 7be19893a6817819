"""What every CSV import shares (hub.csvfiles), through each import page: the encoding decided for the whole
file, control characters in cells, invisible characters in codes, and the cap on listed errors.

Run this file on PostgreSQL too (HUB_TEST_SUITE_ON_POSTGRES=1): there a NUL that got through was a 500.
"""

from __future__ import annotations

import html
import io

import pytest
from sqlalchemy import func, select

from hub.csvfiles import MAX_ERRORS
from hub.extensions import db
from hub.models import AttendanceDay, AuditLog, Member, Project, TimeEntry

NOT_UTF8 = "This line is not UTF-8, unlike the rest of the file. Save the whole file as UTF-8."


@pytest.fixture
def company(app):
    with app.app_context():
        db.session.add_all(
            [
                Member(code="P1001", name="工数 太郎"),
                Member(code="P1002", name="町田 洋助"),
                Project(code="PRJ-A", name="A"),
            ]
        )
        db.session.commit()


#: Per import: its page, header, three good lines with Japanese text, and the table a good file adds rows to.
IMPORTS = {
    "members": (
        "/admin/members/import",
        "社員コード,名前,部署",
        ["P2001,山田 太郎,営業", "P2002,鈴木 花子,開発", "P2003,佐藤 次郎,総務"],
        Member,
    ),
    "projects": (
        "/admin/manhours/projects/import",
        "プロジェクトコード,プロジェクト名",
        ["PRJ-1,基幹システム刷新", "PRJ-2,社内研修", "PRJ-3,保守"],
        Project,
    ),
    "manhours": (  # no free text: full-width dates and minutes (NFKC reads them) carry the Japanese
        "/admin/manhours/import",
        "社員コード,年月日,プロジェクトコード,工数",
        [
            "P1001,２０２５-０４-０１,PRJ-A,６０",
            "P1001,２０２５-０４-０２,PRJ-A,９０",
            "P1002,２０２５-０４-０１,PRJ-A,３０",
        ],
        TimeEntry,
    ),
    "attendance": (  # 日報 is read and ignored
        "/admin/attendance/import",
        "社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇",
        [
            "P1001,2025-04-01,09:00,18:00,,定例会議,0,",
            "P1001,2025-04-02,09:00,18:00,,資料作成,0,",
            "P1002,2025-04-01,09:00,18:00,,顧客訪問,0,",
        ],
        AttendanceDay,
    ),
}
#: Per import: a line with a control character put in at ``{c}``, and that cell's column.
CONTROL_LINES = {
    "members": ("P2004,鈴木{c}花子,営業", 2),
    "projects": ("PRJ-4,社内{c}研修", 2),
    "manhours": ("P1002,2025-04-03,PRJ-A,6{c}0", 4),
    "attendance": ("P1002,2025-04-03,09:00,18:00,,日{c}報,0,", 6),
}


def upload(client, path: str, content: bytes):
    return client.post(path, data={"file": (io.BytesIO(content), "file.csv")}, content_type="multipart/form-data")


def refused(response) -> list[str]:
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "Nothing was imported." in page, page
    section = page.split('<section class="card errors"', 1)[1].split("</section>", 1)[0]
    return [item.split("</li>")[0] for item in section.split("<li>")[1:]]


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- the encoding -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", IMPORTS)
def test_a_utf8_file_with_a_stray_cp932_line_is_refused_naming_it(app, logged_in, company, kind):
    path, header, good, model = IMPORTS[kind]
    before = rows(app, model)
    content = b"".join(
        [f"{header}\r\n{good[0]}\r\n".encode(), f"{good[1]}\r\n".encode("cp932"), f"{good[2]}\r\n".encode()]
    )
    assert refused(upload(logged_in, path, content)) == [f"Line 3: {NOT_UTF8}"]
    assert rows(app, model) == before


@pytest.mark.parametrize("kind", IMPORTS)
def test_the_same_lines_all_in_cp932_or_all_in_utf8_are_imported(app, logged_in, company, kind):
    path, header, good, _ = IMPORTS[kind]
    text = "\r\n".join([header, *good]) + "\r\n"
    assert upload(logged_in, path, text.encode("cp932")).status_code == 302
    assert upload(logged_in, path, text.encode()).status_code == 302


def test_every_stray_line_is_named_and_a_bom_makes_the_file_utf8(app, logged_in):
    path, header, good, _ = IMPORTS["members"]
    # Only the header is UTF-8, fewer bytes than the CP932 lines: the BOM says what the file is.
    content = b"\xef\xbb\xbf" + header.encode() + b"\n" + "\n".join(good).encode("cp932") + b"\n"
    assert refused(upload(logged_in, path, content)) == [f"Line {n}: {NOT_UTF8}" for n in (2, 3, 4)]


@pytest.mark.parametrize(
    ("kind", "line"),
    [("members", "P2004,ﾃｱ,"), ("projects", "PRJ-4,ﾃｱ"), ("attendance", "P1002,2025-04-03,09:00,18:00,,ﾃｱ,0,")],
)
def test_a_cp932_file_is_still_cp932_when_a_line_happens_to_be_valid_utf8(app, logged_in, company, kind, line):
    path, header, good, _ = IMPORTS[kind]
    assert line.encode("cp932").decode("utf-8")  # ﾃｱ is C3 B1 in CP932, which UTF-8 reads as ñ
    content = ("\r\n".join([header, *good, line]) + "\r\n").encode("cp932")
    response = upload(logged_in, path, content)
    assert response.status_code == 302, refused(response)
    if kind == "members":
        with app.app_context():
            assert db.session.scalar(select(Member.name).where(Member.code == "P2004")) == "ﾃｱ"


def test_half_width_katakana_alone_are_cp932(app, logged_in):
    content = "社員コード,名前\r\nP1,ﾃｱ\r\nP2,ﾔﾏﾀﾞ ﾀﾛｳ\r\nP3,ｶﾅ\r\n".encode("cp932")
    assert upload(logged_in, "/admin/members/import", content).status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Member.name))) == {"ﾃｱ", "ﾔﾏﾀﾞ ﾀﾛｳ", "ｶﾅ"}


def test_a_longer_stray_cp932_line_does_not_turn_a_utf8_file_into_mojibake(app, logged_in):
    """One short UTF-8 name and one longer CP932 line: lines, not bytes, decide, and the UTF-8 wins a tie."""
    content = b"employee_code,name,department\nP1,\xe5\xb1\xb1\xe7\x94\xb0,\n" + "P2,長谷川 美智子,総務部\n".encode(
        "cp932"
    )
    assert refused(upload(logged_in, "/admin/members/import", content)) == [f"Line 3: {NOT_UTF8}"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Member.id))) == 0


def test_a_stray_utf8_line_in_a_cp932_file_is_refused_naming_it(app, logged_in):
    lines = ["社員コード,名前,部署", "P1,山田 太郎,営業", "P2,鈴木 花子,開発", "P3,佐藤 次郎,総務"]
    content = "\n".join(lines[:3]).encode("cp932") + b"\n" + lines[3].encode() + b"\n"
    assert refused(upload(logged_in, "/admin/members/import", content)) == [
        "Line 4: This line is UTF-8, unlike the rest of the file (Shift_JIS). Save the whole file as UTF-8 "
        "(in Excel: CSV UTF-8)."
    ]


def test_a_cp932_file_of_half_width_names_is_cp932(app, logged_in):
    """Half-width katakana pairs often form two-byte UTF-8 (ﾅｵ is C5 B5, ŵ): no evidence for UTF-8."""
    names = ["ﾅｵ", "ﾏｷ", "ﾕｷ", "ﾀｸﾐ"]
    assert [name.encode("cp932").decode("utf-8") for name in names[:3]] == ["ŵ", "Ϸ", "շ"]
    content = ("employee_code,name\n" + "".join(f"P{n},{name}\n" for n, name in enumerate(names))).encode("cp932")
    assert upload(logged_in, "/admin/members/import", content).status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Member.name))) == set(names)


def test_a_file_in_neither_encoding_is_still_named_so(app, logged_in):
    assert refused(upload(logged_in, "/admin/members/import", b"\x81\x00\xff\xfe,\x80\n")) == [
        "Line 1: The file is neither UTF-8 nor Shift_JIS (CP932)."
    ]


# --- control characters -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", IMPORTS)
@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f", "\x0c", "\x85"])
def test_a_cell_with_a_control_character_is_refused_by_line(app, logged_in, company, kind, control):
    path, header, good, model = IMPORTS[kind]
    line, column = CONTROL_LINES[kind]
    before = rows(app, model)
    content = "\n".join([header, good[0], line.format(c=control), good[1]]) + "\n"
    errors = refused(upload(logged_in, path, content.encode()))
    character = f"U+{ord(control):04X}"
    assert errors == [f"Line 3: The cell in column {column} contains the control character {character}; remove it."]
    assert rows(app, model) == before


def test_a_control_character_in_the_header_is_refused_on_line_1(app, logged_in):
    errors = refused(upload(logged_in, "/admin/members/import", "社員コード,名前\x00\nP1,一郎\n".encode()))
    assert errors == ["Line 1: The cell in column 2 contains the control character U+0000; remove it."]


def test_tabs_and_the_line_breaks_of_a_quoted_cell_are_text(app, logged_in):
    content = '社員コード,名前,部署\nP1,一郎,"営業\r\n第二課"\nP2,二郎,営業\t第三課\n'.encode()
    assert upload(logged_in, "/admin/members/import", content).status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Member.department))) == {"営業\r\n第二課", "営業\t第三課"}


# --- invisible characters in codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "line", "message"),
    [
        ("members", "P1001\u200b,似顔 絵", "社員コード contains the invisible character U+200B; remove it."),
        ("projects", "\ufeffPRJ-A,Alpha", "プロジェクトコード contains the invisible character U+FEFF; remove it."),
        (
            "manhours",
            "P10\u200d01,2025-04-01,PRJ-A,60",
            "社員コード contains the invisible character U+200D; remove it.",
        ),
        (
            "manhours",
            "P1001,2025-04-01,PRJ-\u2028A,60",
            "プロジェクトコード contains the invisible character U+2028; remove it.",
        ),
        (
            "attendance",
            "P1001\u2060,2025-04-01,09:00,18:00,,,0,",
            "社員コード contains the invisible character U+2060; remove it.",
        ),
    ],
)
def test_a_code_with_an_invisible_character_is_refused_by_line(app, logged_in, company, kind, line, message):
    path, header, _, model = IMPORTS[kind]
    before = rows(app, model)
    header = header.removesuffix(",部署")
    assert refused(upload(logged_in, path, f"{header}\n{line}\n".encode())) == [f"Line 2: {message}"]
    assert rows(app, model) == before


def test_the_bom_at_the_start_of_the_file_is_the_encoding_marker(app, logged_in):
    content = "\ufeff社員コード,名前\r\nP1001,工数 太郎\r\n".encode()
    assert upload(logged_in, "/admin/members/import", content).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Member.code)).all() == ["P1001"]


# --- the cap on listed errors -------------------------------------------------------------------------


def test_header_errors_are_capped_and_the_page_stays_small(app, logged_in):
    unknown = ",".join(f"x{number}" for number in range(10_000))
    response = upload(logged_in, "/admin/members/import", f"社員コード,名前,{unknown}\nP1,一郎\n".encode())
    errors = refused(response)
    assert len(errors) == MAX_ERRORS + 2
    assert errors[0] == "Line 1: The column “x0” is unknown."
    assert errors[MAX_ERRORS - 1] == f"Line 1: The column “x{MAX_ERRORS - 1}” is unknown."
    assert errors[-2] == f"Line 1: …and {10_000 - MAX_ERRORS} more errors."
    assert errors[-1].startswith("Line 1: Accepted columns: 社員コード, 名前, 部署")
    assert len(response.get_data()) < 30_000


def test_row_errors_stop_after_the_cap_and_say_where(app, logged_in):
    content = "社員コード,名前\n" + "".join(f"P{number},\n" for number in range(MAX_ERRORS + 20))
    errors = refused(upload(logged_in, "/admin/members/import", content.encode()))
    assert errors[:2] == ["Line 2: 名前 is empty.", "Line 3: 名前 is empty."]
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1] == f"Line {MAX_ERRORS + 2}: More errors from this line on; checking stopped after 50 errors."


def test_exactly_the_cap_lists_every_error_and_nothing_more(app, logged_in):
    content = "社員コード,名前\n" + "".join(f"P{number},\n" for number in range(MAX_ERRORS)) + "P99,九十九\n"
    errors = refused(upload(logged_in, "/admin/members/import", content.encode()))
    assert len(errors) == MAX_ERRORS and errors[-1] == f"Line {MAX_ERRORS + 1}: 名前 is empty."


@pytest.mark.parametrize("kind", IMPORTS)
def test_control_characters_in_the_uploaded_file_name_are_dropped(app, logged_in, company, kind):
    """The name is kept in the history (and on imported days); a NUL there was a 500 on PostgreSQL."""
    path, header, good, _ = IMPORTS[kind]
    content = ("\r\n".join([header, *good]) + "\r\n").encode()
    response = logged_in.post(
        path, data={"file": (io.BytesIO(content), "a\x00b\x1b[31m.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        recorded = f"{entry.target} {entry.details}"
    assert "ab[31m.csv" in recorded and "\x00" not in recorded and "\x1b" not in recorded
