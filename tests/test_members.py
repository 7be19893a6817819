"""管理 › メンバー: list, search, paging, add, edit, end and CSV import (web and CLI)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditLog, Member, PriceUnit

SEED_CSV = (
    "社員コード,名前,部署,役職,雇用形態,所属,単価,開始日,終了日\r\n"
    'P1001,工数 太郎,プロダクトマネジメント,,,,"月額 ¥1,000,000",2005-01-01,\r\n'
    'P1002,町田 洋助,カスタマーサクセス,,,,"月額 ¥1,000,000",2005-01-01,\r\n'
    "R2N6F5,山田 太郎,プロダクトマネジメント,,,,月額 ¥0,2022-12-15,\r\n"
)


def upload(client, content: bytes, name="members.csv"):
    return client.post(
        "/admin/members/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def members(app) -> dict[str, Member]:
    with app.app_context():
        return {m.code: m for m in db.session.scalars(select(Member))}


def add_members(app, count, **fields):
    with app.app_context():
        for number in range(count):
            db.session.add(Member(code=f"E{number:04d}", name=f"社員 {number}", **fields))
        db.session.commit()


# --- import -----------------------------------------------------------------------------------------


def test_import_the_seed_table(app, logged_in):
    response = upload(logged_in, SEED_CSV.encode("utf-8"))
    assert response.status_code == 302
    assert "Imported 3 members: 3 added, 0 updated, 0 unchanged." in logged_in.get("/admin/members/").get_data(
        as_text=True
    )
    found = members(app)
    assert set(found) == {"P1001", "P1002", "R2N6F5"}
    taro = found["P1001"]
    assert (taro.name, taro.department, taro.unit_price, taro.price_unit) == (
        "工数 太郎",
        "プロダクトマネジメント",
        1_000_000,
        PriceUnit.MONTHLY,
    )
    assert taro.start_date == date(2005, 1, 1) and taro.end_date is None
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "members.import")).one()
        assert entry.target == "members.csv" and entry.details["created"] == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_import_encodings(app, logged_in, encoding):
    # Japanese Windows writes the yen sign as full-width ￥ (or as 0x5C) in CP932.
    assert upload(logged_in, SEED_CSV.replace("¥", "￥").encode(encoding)).status_code == 302
    assert members(app)["P1002"].name == "町田 洋助"
    assert members(app)["P1002"].unit_price == 1_000_000


def test_full_width_codes_and_headers_are_normalized(app, logged_in):
    content = "社員コード , 名前\r\nＰ１００１ ,工数 太郎\r\n".encode()
    assert upload(logged_in, content).status_code == 302
    assert list(members(app)) == ["P1001"]


def test_english_headers_in_any_order(app, logged_in):
    content = b"name,employee_code,unit_price,start_date\nAlice,A1,hourly 1500,2024/04/01\n"
    assert upload(logged_in, content).status_code == 302
    alice = members(app)["A1"]
    assert (alice.unit_price, alice.price_unit, alice.start_date) == (1500, PriceUnit.HOURLY, date(2024, 4, 1))


def test_import_upserts_by_normalized_code_and_keeps_absent_columns(app, logged_in):
    upload(logged_in, SEED_CSV.encode())
    response = upload(logged_in, "社員コード,名前,終了日\nＰ１００１,工数 太郎,2026-03-31\nP1002,町田 洋助,\n".encode())
    assert response.status_code == 302
    assert "0 added, 1 updated, 1 unchanged" in logged_in.get("/admin/members/").get_data(as_text=True)
    taro = members(app)["P1001"]
    assert taro.end_date == date(2026, 3, 31)
    assert taro.department == "プロダクトマネジメント" and taro.unit_price == 1_000_000  # columns not in the file
    assert len(members(app)) == 3


def _errors(response) -> list[str]:
    page = response.get_data(as_text=True)
    assert "Nothing was imported." in page
    section = page.split('<section class="card errors"', 1)[1].split("</section>", 1)[0]
    return [item.split("</li>")[0] for item in section.split("<li>")[1:]]


def test_a_bad_row_is_named_by_line_and_nothing_is_imported(app, logged_in):
    content = (
        "社員コード,名前,単価,開始日\n"
        "P1,一郎,100,2024-01-01\n"
        "P2,,100,2024-01-01\n"
        "P3,三郎,たくさん,2024-01-01\n"
        "P4,四郎,100,2024-13-01\n"
    ).encode()
    response = upload(logged_in, content)
    assert response.status_code == 200
    assert _errors(response) == [
        "Line 3: 名前 is empty.",
        "Line 4: 単価 “たくさん” is not an amount such as 月額 ¥300,000 / 時給 1500.",
        "Line 5: 開始日 “2024-13-01” is not a date such as 2025-04-01.",
    ]
    assert members(app) == {}


def test_duplicate_codes_in_the_file_are_refused(app, logged_in):
    content = "社員コード,名前\nP1001,一郎\n\nＰ１００１,二郎\n".encode()
    response = upload(logged_in, content)
    assert _errors(response) == ["Line 4: Employee code P1001 is already on line 2."]
    assert members(app) == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("名前,部署\n一郎,営業\n", ["Line 1: The column “社員コード” is missing."]),
        ("社員コード,名前,メール\nP1,一郎,a@example.com\n", ["Line 1: The column “メール” is unknown."]),
        ("社員コード,名前,code\nP1,一郎,P1\n", ["Line 1: The column “code” appears twice."]),
        ("社員コード,名前\n", ["Line 2: The file has a header but no members."]),
        ("", ["Line 1: The file is empty."]),
        ("社員コード,名前\nP1,一郎,余分\n", ["Line 2: The row has 3 cells; the header has 2."]),
        (
            "社員コード,名前,開始日,終了日\nP1,一郎,2024-04-01,2024-03-31\n",
            ["Line 2: 終了日 2024-03-31 is before 開始日 2024-04-01."],
        ),
    ],
)
def test_file_level_problems(app, logged_in, content, expected):
    errors = _errors(upload(logged_in, content.encode()))
    assert errors[: len(expected)] == expected
    assert members(app) == {}


def test_a_file_in_neither_encoding_is_refused(app, logged_in):
    errors = _errors(upload(logged_in, b"\x81\x00\xff\xfe,\x80\n"))
    assert errors == ["Line 1: The file is neither UTF-8 nor Shift_JIS (CP932)."]


def test_line_numbers_count_multi_line_cells(app, logged_in):
    content = '社員コード,名前,部署\nP1,一郎,"営業\n第二課"\nP2,,営業\n'.encode()
    assert _errors(upload(logged_in, content)) == ["Line 4: 名前 is empty."]


def test_cli_import(app, runner, tmp_path):
    good = tmp_path / "members.csv"
    good.write_bytes(SEED_CSV.replace("¥", "￥").encode("cp932"))
    result = runner.invoke(args=["members", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 members: 3 added, 0 updated, 0 unchanged." in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("社員コード,名前\nP9,\n", encoding="utf-8")
    result = runner.invoke(args=["members", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: Line 2: 名前 is empty." in result.output and "Nothing was imported." in result.output
    assert set(members(app)) == {"P1001", "P1002", "R2N6F5"}


def test_template_csv_imports_as_is(app, logged_in):
    template = logged_in.get("/admin/members/template.csv")
    assert template.data.startswith("\ufeff社員コード".encode())
    assert upload(logged_in, template.data).status_code == 302
    assert members(app)["P1001"].unit_price == 1_000_000


# --- list, search, paging ---------------------------------------------------------------------------


def test_search_by_code_name_or_department(app, logged_in):
    upload(logged_in, SEED_CSV.encode())

    def codes(query):
        page = logged_in.get("/admin/members/", query_string={"q": query}).get_data(as_text=True)
        return [code for code in ("P1001", "P1002", "R2N6F5") if f'<td class="code">{code}</td>' in page]

    assert codes("カスタマー") == ["P1002"]
    assert codes("太郎") == ["P1001", "R2N6F5"]
    assert codes("ｐ１００") == ["P1001", "P1002"]  # full-width search finds the code, case-insensitively
    assert codes("%") == []
    assert "No member matches “nobody”." in logged_in.get("/admin/members/?q=nobody").get_data(as_text=True)


def test_paging(app, logged_in):
    add_members(app, 120)
    first = logged_in.get("/admin/members/").get_data(as_text=True)
    assert "1–50 of 120" in first and "E0049" in first and "E0050" not in first
    third = logged_in.get("/admin/members/?page=3").get_data(as_text=True)
    assert "101–120 of 120" in third and "E0119" in third
    assert logged_in.get("/admin/members/?page=99").status_code == 200


def test_ended_members_are_filtered(app, logged_in):
    with app.app_context():
        db.session.add_all(
            [Member(code="OLD", name="退職 者", end_date=date(2020, 1, 31)), Member(code="NOW", name="在籍 者")]
        )
        db.session.commit()
    active = logged_in.get("/admin/members/").get_data(as_text=True)
    assert ">NOW<" in active and ">OLD<" not in active
    ended = logged_in.get("/admin/members/?status=ended").get_data(as_text=True)
    assert ">OLD<" in ended and ">NOW<" not in ended
    assert ">OLD<" in logged_in.get("/admin/members/?status=all").get_data(as_text=True)


# --- add, edit, end ---------------------------------------------------------------------------------

NEW = {
    "code": " Ｐ２００１ ",
    "name": "新人 花子",
    "department": "営業",
    "position": "",
    "employment_type": "正社員",
    "affiliation": "",
    "unit_price": "1500",
    "price_unit": "hourly",
    "start_date": "2026-04-01",
    "end_date": "",
}


def test_add_member(app, logged_in):
    response = logged_in.post("/admin/members/new", data=NEW)
    assert response.status_code == 302
    hanako = members(app)["P2001"]
    assert (hanako.name, hanako.position, hanako.unit_price, hanako.price_unit) == (
        "新人 花子",
        None,
        1500,
        PriceUnit.HOURLY,
    )
    assert "時給 ¥1,500" in logged_in.get("/admin/members/").get_data(as_text=True)


def test_add_refuses_a_duplicate_code_after_normalization(app, logged_in):
    logged_in.post("/admin/members/new", data=NEW)
    response = logged_in.post("/admin/members/new", data=dict(NEW, code="P2001", name="別人"))
    assert response.status_code == 200
    assert "Employee code P2001 is already used by 新人 花子." in response.get_data(as_text=True)
    assert len(members(app)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "  "}, "Enter the employee code."),
        ({"name": ""}, "Enter the name."),
        ({"unit_price": "-5"}, "Enter an amount from 0 to 1,000,000,000 yen."),
        ({"end_date": "2026-03-01"}, "The end date must not be before the start date."),
        ({"start_date": "2026-02-30"}, "Not a valid date value."),
        ({"start_date": "0001-01-01"}, "0001-01-01 is outside 1900-01-01 … 2100-12-31."),
        ({"end_date": "9999-12-31"}, "9999-12-31 is outside 1900-01-01 … 2100-12-31."),
    ],
)
def test_add_member_errors(app, logged_in, changes, message):
    response = logged_in.post("/admin/members/new", data=dict(NEW, **changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert members(app) == {}


def test_edit_member_and_audit(app, logged_in):
    logged_in.post("/admin/members/new", data=NEW)
    member_id = members(app)["P2001"].id
    page = logged_in.get(f"/admin/members/{member_id}/edit").get_data(as_text=True)
    assert 'value="新人 花子"' in page and '<option selected value="hourly">' in page
    response = logged_in.post(f"/admin/members/{member_id}/edit", data=dict(NEW, department="開発", unit_price=""))
    assert response.status_code == 302
    edited = members(app)["P2001"]
    assert edited.department == "開発" and edited.unit_price is None and edited.price_unit is None
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "member.update")).one()
        assert entry.details["department"] == ["営業", "開発"]


def test_edit_cannot_take_another_members_code(app, logged_in):
    add_members(app, 2)
    found = members(app)
    response = logged_in.post(f"/admin/members/{found['E0001'].id}/edit", data=dict(NEW, code="E0000"))
    assert "Employee code E0000 is already used by" in response.get_data(as_text=True)
    assert members(app)["E0001"].name == "社員 1"


def test_end_member(app, logged_in):
    logged_in.post("/admin/members/new", data=NEW)
    member_id = members(app)["P2001"].id
    response = logged_in.post(f"/admin/members/{member_id}/end", data={"end_date": "2026-09-30"})
    assert response.status_code == 302
    assert members(app)["P2001"].end_date == date(2026, 9, 30)
    refused = logged_in.post(f"/admin/members/{member_id}/end", data={"end_date": "2026-01-01"}, follow_redirects=True)
    assert "The end date must not be before the start date." in refused.get_data(as_text=True)
    assert members(app)["P2001"].end_date == date(2026, 9, 30)


def test_unknown_member_is_404(logged_in):
    assert logged_in.get("/admin/members/999/edit").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("月額 ¥1,000,000", (1_000_000, PriceUnit.MONTHLY)),
        ("月額 \\1,000,000", (1_000_000, PriceUnit.MONTHLY)),  # CP932's 0x5C yen sign
        ("時給 ￥１，５００", (1500, PriceUnit.HOURLY)),
        ("1500円", (1500, PriceUnit.MONTHLY)),
        ("Hourly 1200", (1200, PriceUnit.HOURLY)),
    ],
)
def test_unit_price_forms(text, expected):
    from hub.members.fields import parse_unit_price

    assert parse_unit_price(text) == expected


@pytest.mark.parametrize("text", ["", "月額", "¥-5", "1.5", "年俸 100"])
def test_unit_price_refuses(text):
    from hub.members.fields import parse_unit_price

    with pytest.raises(ValueError):
        parse_unit_price(text)


def test_import_checks_end_date_against_the_stored_start_date(app, logged_in):
    upload(logged_in, SEED_CSV.encode())
    response = upload(logged_in, "社員コード,名前,終了日\nP1001,工数 太郎,2000-01-01\n".encode())
    assert _errors(response) == ["Line 2: 終了日 2000-01-01 is before 開始日 2005-01-01."]
    assert members(app)["P1001"].end_date is None


def test_a_short_row_is_refused_not_read_as_empty_cells(app, logged_in):
    upload(logged_in, SEED_CSV.encode())
    response = upload(logged_in, "社員コード,名前,部署,単価\nP1001,工数 太郎\n".encode())
    assert _errors(response) == ["Line 2: The row has 2 cells; the header has 4."]
    assert members(app)["P1001"].department == "プロダクトマネジメント"


def test_an_absurd_unit_price_is_a_line_error_not_a_crash(app, logged_in):
    response = upload(logged_in, "社員コード,名前,単価\nP1,一郎,99999999999999999999\n".encode())
    assert _errors(response)[0].startswith("Line 2: 単価")
    response = logged_in.post("/admin/members/new", data=dict(NEW, unit_price="99999999999999999999"))
    assert response.status_code == 200 and "Enter an amount from 0 to 1,000,000,000 yen." in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/members/?page=99999999999999999999",
        "/admin/members/?page=abc",
        "/admin/members/99999999999999999999/edit",
    ],
)
def test_huge_numbers_in_urls_do_not_crash(logged_in, path):
    assert logged_in.get(path).status_code in (200, 404)


def test_an_implausible_year_in_the_file_is_a_line_error(app, logged_in):
    response = upload(logged_in, b"name,employee_code,start_date\nAlice,A1,0001-04-01\n")
    assert _errors(response) == ["Line 2: 開始日: 0001-04-01 is outside 1900-01-01 … 2100-12-31."]
    assert members(app) == {}
