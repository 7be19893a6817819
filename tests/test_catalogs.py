"""hub.catalogs: a plugin's own catalogue follows the core's language everywhere, in any thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import copy_current_request_context
from flask_babel import force_locale
from flask_babel import gettext as core_gettext

from hub.catalogs import plugin_catalog
from tests.conftest import make_app

CORE_JA = ("Members", "メンバー")  # a string of the core's catalogue, to compare with


@pytest.fixture
def tiny_package(tmp_path, monkeypatch):
    """A package ``hub_tiny_i18n`` whose ja catalogue (domain ``tiny``) translates "Overtime" and a plural."""
    package = tmp_path / "site" / "hub_tiny_i18n"
    folder = package / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    catalog = Catalog(locale="ja", domain="tiny")
    catalog.add("Overtime", "残業")
    catalog.add(("%(num)d day", "%(num)d days"), ("%(num)d日",))
    with (folder / "tiny.mo").open("wb") as mo:
        write_mo(mo, catalog)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return "hub_tiny_i18n"


def test_plugin_strings_follow_the_core_language(tiny_package, tmp_path, monkeypatch):
    tiny = plugin_catalog(tiny_package, "tiny")
    app = make_app(tmp_path)

    def both():
        return core_gettext(CORE_JA[0]) == CORE_JA[1], tiny.gettext("Overtime") == "残業"

    for language, expected in (("ja", (True, True)), ("en", (False, False))):
        with app.test_request_context(f"/?lang={language}", headers={"Accept-Language": language}):
            assert both() == expected
            assert tiny.ngettext("%(num)d day", "%(num)d days", 3) == ("3日" if language == "ja" else "3 days")
        with app.app_context(), force_locale(language):
            assert both() == expected  # a sync's or a command's forced language
    for language, expected in (("ja", (True, True)), ("en", (False, False))):
        monkeypatch.setenv("HUB_LANGUAGE", language)
        with app.app_context():
            assert both() == expected  # a command: HUB_LANGUAGE (or LANG)
    assert tiny.gettext("Overtime") == "Overtime"  # outside any app context, as the core's gettext
    assert core_gettext(CORE_JA[0]) == CORE_JA[0]


def test_lazy_strings_are_translated_where_they_are_used_in_any_thread(tiny_package, tmp_path):
    """As Jobcan's rejection reasons: made once, turned into text in worker threads of either language."""
    tiny = plugin_catalog(tiny_package, "tiny")
    reason = tiny.lazy_gettext("Overtime")
    app = make_app(tmp_path)

    def render(language: str) -> list[str]:
        with app.app_context(), force_locale(language):
            return [str(reason) for _ in range(200)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(render, ["ja", "en"] * 16))
    for language, texts in zip(["ja", "en"] * 16, results, strict=True):
        assert set(texts) == {"残業" if language == "ja" else "Overtime"}
    with app.test_request_context("/?lang=ja"):
        app.preprocess_request()
        in_thread = copy_current_request_context(lambda: str(reason))
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(in_thread).result() == "残業"  # a check's thread, with a copy of the request


def test_the_domain_defaults_to_the_package_name(tiny_package):
    assert plugin_catalog("hub_plugins.jobcan").domain == ["jobcan"]
    assert plugin_catalog("hub_plugins.kingoftime").domain == ["kingoftime"]
    assert plugin_catalog(tiny_package).domain == ["hub_tiny_i18n"]


def test_a_package_without_translations_is_told_at_once(tmp_path, monkeypatch):
    (tmp_path / "hub_no_i18n").mkdir()
    (tmp_path / "hub_no_i18n" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="hub_no_i18n has no translations folder"):
        plugin_catalog("hub_no_i18n")
