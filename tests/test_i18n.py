"""Japanese by default, English on request, and no message without its translation."""

from __future__ import annotations

import ast
import io
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


@dataclass(frozen=True)
class Catalogue:
    """One catalogue and the sources whose strings it must translate: the core's, or a built-in plugin's own."""

    name: str
    sources: Path
    method_map: list[tuple[str, str]]
    folder: Path  # its LC_MESSAGES for ja
    domain: str


CORE = Catalogue(
    "core",
    ROOT,
    [("hub/**.py", "python"), ("templates/**.html", "jinja2")],
    ROOT / "hub" / "translations" / "ja" / "LC_MESSAGES",
    "messages",
)
PLUGINS = sorted(path.parent.name for path in ROOT.joinpath("plugins").glob("*/__init__.py"))
CATALOGUES = [CORE] + [
    Catalogue(
        name,
        ROOT / "plugins" / name,
        [("**.py", "python")],
        ROOT / "plugins" / name / "translations" / "ja" / "LC_MESSAGES",
        name,
    )
    for name in PLUGINS
    if ROOT.joinpath("plugins", name, "translations").is_dir()
]


def _source_messages(catalogue: Catalogue) -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(catalogue.sources), catalogue.method_map, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _po(catalogue: Catalogue):
    return read_po(io.BytesIO((catalogue.folder / f"{catalogue.domain}.po").read_bytes()))


each_catalogue = pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda catalogue: catalogue.name)


@each_catalogue
def test_every_message_has_a_japanese_translation(catalogue):
    catalog = _po(catalogue)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = []
    for message in sorted(_source_messages(catalogue)):
        entry = translated.get(message)
        strings = entry.string if entry and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(message)
    assert not missing, "untranslated (run `make babel` and translate): " + "; ".join(missing)
    assert len(translated) > (100 if catalogue is CORE else 10)


@each_catalogue
def test_compiled_catalog_matches_the_po_file(catalogue):
    po = _po(catalogue)
    mo = read_mo(io.BytesIO((catalogue.folder / f"{catalogue.domain}.mo").read_bytes()))

    def as_tuple(value):
        return tuple(value) if isinstance(value, list | tuple) else (value,)

    expected = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in po if m.id and not m.fuzzy}
    compiled = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in mo if m.id}
    assert compiled == expected, f"{catalogue.domain}.mo is stale: run `make babel`"


@pytest.mark.parametrize("plugin", PLUGINS)
def test_built_in_plugins_translate_with_their_own_catalogue(plugin):
    """Flask-Babel's own gettext reads the core's catalogue, which holds no plugin string (docs/plugins.md)."""
    for path in ROOT.joinpath("plugins", plugin).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask_babel":
                names = [alias.name for alias in node.names if "gettext" in alias.name]
                assert not names, f"{path.relative_to(ROOT)} imports {names} from flask_babel: use the plugin's catalog"
    if not ROOT.joinpath("plugins", plugin, "translations").is_dir():
        sources = Catalogue(plugin, ROOT / "plugins" / plugin, [("**.py", "python")], ROOT, plugin)
        assert not _source_messages(sources), f"plugins/{plugin} has messages but no translations/ (docs/plugins.md)"
        return
    listed = re.search(r"^CATALOGUED_PLUGINS := (.*)$", ROOT.joinpath("Makefile").read_text(encoding="utf-8"), re.M)
    assert plugin in listed[1].split(), "add it to CATALOGUED_PLUGINS in the Makefile, so `make babel` keeps it"


def test_the_core_catalogue_holds_no_plugin_string():
    core = {m.id if isinstance(m.id, str) else m.id[0] for m in _po(CORE) if m.id}
    core |= {m if isinstance(m, str) else m[0] for m in _po(CORE).obsolete}
    for catalogue in CATALOGUES[1:]:
        only_plugin = _source_messages(catalogue) - _source_messages(CORE)
        assert not (only_plugin & core), catalogue.name


def test_plugin_strings_are_japanese_on_the_pages(logged_in):
    page = logged_in.get("/exports/?lang=ja").get_data(as_text=True)
    assert "形式" in page  # csv_export's "Format", from plugins/csv_export/translations


def test_a_jobcan_rejection_reason_is_japanese_where_the_core_writes_it(app):
    """Made without a context in a provider's worker thread, turned into text in the sync's forced language."""
    from flask_babel import force_locale

    from hub_plugins.jobcan.mapping import _instant, _Unreadable

    with pytest.raises(_Unreadable) as unreadable:
        _instant("2026-11-02", UTC)
    with app.app_context(), force_locale("ja"):
        assert str(unreadable.value.reason) == "日時として読めない値"
    with app.app_context(), force_locale("en"):
        assert str(unreadable.value.reason) == "not a timestamp"


def test_a_kingoftime_rejection_reason_is_japanese_from_its_own_catalogue(app):
    """KING OF TIME's reasons come from plugins/kingoftime/translations, rendered in the sync's language."""
    from flask_babel import force_locale

    from hub_plugins.kingoftime.mapping import _instant, _Unreadable

    with pytest.raises(_Unreadable) as unreadable:
        _instant("timeRecord.time", "25:99")
    with app.app_context(), force_locale("ja"):
        assert str(unreadable.value.reason) == "日時として読めない値"
    with app.app_context(), force_locale("en"):
        assert str(unreadable.value.reason) == "not a timestamp"


@each_catalogue
def test_placeholders_survive_translation(catalogue):
    for message in _po(catalogue):
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
