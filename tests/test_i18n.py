"""Japanese by default, English on request, and no message without its translation."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "hub" / "translations" / "ja" / "LC_MESSAGES"
METHOD_MAP = [("hub/**.py", "python"), ("plugins/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_japanese_translation():
    catalog = read_po(io.BytesIO((CATALOG / "messages.po").read_bytes()))
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = []
    for message in sorted(_source_messages()):
        entry = translated.get(message)
        strings = entry.string if entry and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(message)
    assert not missing, "untranslated (run `make babel` and translate): " + "; ".join(missing)
    assert len(translated) > 100


def test_compiled_catalog_matches_the_po_file():
    po = read_po(io.BytesIO((CATALOG / "messages.po").read_bytes()))
    mo = read_mo(io.BytesIO((CATALOG / "messages.mo").read_bytes()))

    def as_tuple(value):
        return tuple(value) if isinstance(value, list | tuple) else (value,)

    expected = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in po if m.id and not m.fuzzy}
    compiled = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in mo if m.id}
    assert compiled == expected, "messages.mo is stale: run `pybabel compile -d hub/translations`"


def test_placeholders_survive_translation():
    for message in read_po(io.BytesIO((CATALOG / "messages.po").read_bytes())):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == names, message.id


def test_japanese_is_the_default(client, admin):
    page = client.get("/login", headers={"Accept-Language": ""}).get_data(as_text=True)
    assert '<html lang="ja">' in page and "ログイン" in page


def test_accept_language_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page


def test_switcher_remembers_the_choice(logged_in):
    page = logged_in.get("/admin/settings/?lang=ja", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "タイムシート設定" in page and "入力単位(分)" in page and "工数と勤怠の一致" in page
    page = logged_in.get("/admin/members/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "社員コード" in page and 'href="/admin/members/?lang=en"' in page


def test_validation_messages_are_translated(logged_in):
    page = logged_in.post("/admin/settings/?lang=ja", data={"clock_in": "9時"}).get_data(as_text=True)
    assert "HH:MM" in page and "Enter a time" not in page


def test_no_asset_from_elsewhere():
    for path in [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("hub", "static").rglob("*")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path


def test_language_links_keep_the_page_and_its_arguments(app, client):
    from hub.auth.accounts import issue_setup_token

    with app.test_request_context():
        token = issue_setup_token()
    page = client.get(f"/setup?token={token}").get_data(as_text=True)
    assert f'href="/setup?token={token}&amp;lang=ja"' in page
    assert client.get(f"/setup?token={token}&lang=ja").status_code == 200


def test_language_links_never_echo_a_crafted_path(client):
    page = client.get("/%5Cevil.example").get_data(as_text=True)
    assert "evil.example" not in page


def test_the_language_link_keeps_the_query_without_making_it_url_arguments(logged_in, app):
    """Query arguments named like view arguments (or ``_external``) stay query arguments of the same path."""
    from hub.extensions import db
    from hub.models import Member

    with app.app_context():
        member = Member(code="P1", name="一郎")
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    for path in (f"/admin/members/{member_id}/edit", f"/timesheets/{member_id}/2026-01"):
        response = logged_in.get(f"{path}?member_id=2&_external=1&q=%E5%A4%AA&q=b")
        assert response.status_code == 200, path
        link, code = re.search(r'<a href="([^"]+)" lang="(ja|en)">', response.get_data(as_text=True)).groups()
        assert link == f"{path}?member_id=2&amp;_external=1&amp;q=%E5%A4%AA&amp;q=b&amp;lang={code}"
    # A path that starts with two slashes (a real page behind it) still links to this site.
    page = logged_in.get("//evil.example/admin/settings/").get_data(as_text=True)
    assert 'href="//' not in page
