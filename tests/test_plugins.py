"""The plugin mechanism: hooks, entry points, blocking and `hub plugins` (datasette-style meta-test)."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from datetime import date

import click
import pytest
from flask import Blueprint, render_template_string
from flask_babel import lazy_gettext

from hub import hookimpl, hookspecs
from hub.exporters import Exporter
from hub.forms import SecretField, secret_field_names
from hub.nav import NavItem
from hub.plugins import PluginConflictError, exporters, get_plugin_manager, providers
from hub.providers import CheckResult, CheckStatus, Provider, ProviderSettings
from hub.records import DayRecord, RemoteMember
from tests.conftest import AuthActions, create_test_admin, make_app

HOOK_NAMES = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("hub_"))


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_test(hook):
    assert f"test_hook_{hook}" in globals(), f"hook {hook} has no test_hook_{hook}"


class TinyProvider(Provider):
    """The smallest possible provider: two fixed employees, one day each."""

    name = "tiny"
    label = "Tiny HR"

    from flask_wtf import FlaskForm
    from wtforms import StringField

    class settings_form(FlaskForm):
        from wtforms import StringField

        client_id = StringField("ID")
        client_secret = SecretField("Secret")

    def check(self, settings):
        if settings["client_secret"] != "s3cret":
            return CheckResult(CheckStatus.BAD_CREDENTIALS, "wrong secret")
        return CheckResult(CheckStatus.OK)

    def fetch_members(self, settings):
        return [RemoteMember("1", "P1001", "工数 太郎"), RemoteMember("2", "", "no code")]

    def fetch_attendance(self, settings, remote_ids, start, end, progress):
        progress(stage="fetch", done=1, total=1, requests=1)
        return [DayRecord(remote_id=rid, work_date=start, clock_in=540, clock_out=1080) for rid in remote_ids]


class TinyExporter(Exporter):
    name = "tsv"
    label = "TSV"
    media_type = "text/tab-separated-values"

    def write(self, rows, stream, options):
        for row in rows:
            stream.write(("\t".join(row) + "\n").encode())


class ProvidesTiny:
    @hookimpl
    def hub_providers(self):
        return [TinyProvider()]


def test_hook_hub_providers(tmp_path):
    app = make_app(tmp_path, plugins=[ProvidesTiny()])
    with app.app_context():
        found = providers()
    assert set(found) == {"jobcan", "kingoftime", "tiny"}  # the built-in providers arrive through the same hook
    provider = found["tiny"]
    settings = ProviderSettings(key="1", values={"client_id": "a", "client_secret": "s3cret"})
    assert provider.check(settings).ok
    assert provider.check(ProviderSettings(key="1", values={"client_secret": "x"})).status is (
        CheckStatus.BAD_CREDENTIALS
    )
    calls = []
    days = list(
        provider.fetch_attendance(settings, ["1"], date(2026, 11, 2), date(2026, 11, 2), lambda **kw: calls.append(kw))
    )
    assert days[0].clock_out == 1080 and calls == [{"stage": "fetch", "done": 1, "total": 1, "requests": 1}]
    assert secret_field_names(provider.settings_form) == ["client_secret"]


def test_two_providers_with_one_name_stop_the_app(tmp_path):
    class AlsoTiny:
        @hookimpl
        def hub_providers(self):
            return [TinyProvider()]

    with pytest.raises(PluginConflictError, match="tiny"):
        make_app(tmp_path, plugins=[ProvidesTiny(), AlsoTiny()])


def test_hook_hub_exporters(tmp_path):
    class ExportsTsv:
        @hookimpl
        def hub_exporters(self):
            return [TinyExporter()]

    app = make_app(tmp_path, plugins=[ExportsTsv()])
    with app.app_context():
        found = exporters()
    assert list(found) == ["csv", "tsv"]  # the built-in CSV exporter comes from its entry point
    import io

    stream = io.BytesIO()
    found["tsv"].write([["P1001", "2026-11-02"]], stream, {})
    assert stream.getvalue() == b"P1001\t2026-11-02\n"


def test_hook_hub_init_app(tmp_path, admin_factory=None):
    bp = Blueprint("kot", __name__)

    @bp.route("/kot/hello")
    def hello():
        return "hello from a plugin"

    @click.command("kot-ping")
    def ping():
        click.echo("pong")

    class AddsPages:
        @hookimpl
        def hub_init_app(self, app):
            app.register_blueprint(bp)
            app.cli.add_command(ping)

    app = make_app(tmp_path, plugins=[AddsPages()])
    assert app.test_cli_runner().invoke(args=["kot-ping"]).output == "pong\n"
    # A plugin's page needs login like every other page.
    response = app.test_client().get("/kot/hello")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def sidebar(html: str, heading: str | None = None) -> list[tuple[str, str, str]]:
    """The (href, class, label) of each sidebar link, of the menu after ``heading`` (the first menu without)."""
    nav = html[html.index('<nav class="sidebar"') : html.index("</nav>")]
    if heading:
        nav = nav[nav.index(f'<p class="menu-heading">{heading}</p>') :]
    menu = nav[nav.index('<ul class="menu">') : nav.index("</ul>")]
    return re.findall(r'<li><a href="([^"]*)" class="([^"]*)">([^<]*)</a></li>', menu)


class AddsSidebarEntries:
    """A page of its own in 管理, a second page of the same blueprint, and an outside link in the main menu."""

    bp = Blueprint("kotnav", __name__, url_prefix="/kotnav")

    @bp.route("/")
    def index():
        return render_template_string("{% extends 'base.html' %}{% block content %}KOT{% endblock %}")

    @bp.route("/other")
    def other():
        return render_template_string("{% extends 'base.html' %}{% block content %}other{% endblock %}")

    @hookimpl
    def hub_init_app(self, app):
        app.register_blueprint(self.bp)

    @hookimpl
    def hub_nav_items(self):
        return [
            NavItem(lazy_gettext("Members"), endpoint="kotnav.index"),  # a lazy string: translated per page
            NavItem("Manual", url="https://example.com/kot-manual", section="main"),
            NavItem("Z first", endpoint="kotnav.other", order=-1),
        ]


def test_hook_hub_nav_items(tmp_path):
    app = make_app(tmp_path, plugins=[AddsSidebarEntries()])
    client = app.test_client()
    create_test_admin(app)
    assert AuthActions(client).login().status_code == 302
    html = client.get("/kotnav/?lang=en").get_data(as_text=True)
    assert sidebar(html) == [
        ("/", "", "Home"),
        ("/timesheets/", "", "Timesheets"),
        ("/reports/", "", "Report"),
        ("https://example.com/kot-manual", "", "Manual"),  # after the core's own links of its section
    ]
    admin_links = sidebar(html, "Admin")
    assert [label for _, _, label in admin_links] == [
        "Basic settings",
        "Members",
        "Projects",
        "Integrations",
        "Attendance",
        "Export",
        "Z first",
        "Members",
    ]
    # Current on every page of its blueprint, as the core's links are: both entries here.
    assert admin_links[-2:] == [("/kotnav/other", "current", "Z first"), ("/kotnav/", "current", "Members")]
    assert all(cls == "" for _, cls, _ in admin_links[:-2])
    html = client.get("/admin/members/?lang=ja").get_data(as_text=True)
    admin_links = sidebar(html, "管理")
    assert admin_links[1] == ("/admin/members/", "current", "メンバー")
    assert admin_links[-2:] == [
        ("/kotnav/other", "", "Z first"),
        ("/kotnav/", "", "メンバー"),  # translated on each page, in the page's language
    ]


def test_a_broken_sidebar_entry_is_logged_and_left_out(tmp_path, caplog):
    class Broken:
        @hookimpl
        def hub_nav_items(self):
            return [
                NavItem("Gone", endpoint="nowhere.index"),
                NavItem("Needs an id", endpoint="members.edit"),
                "not an item",
                NavItem("Fine", endpoint="home.index", section="main"),
            ]

    class Raises:
        @hookimpl
        def hub_nav_items(self):
            raise RuntimeError("boom")

    app = make_app(tmp_path, plugins=[Broken(), Raises()])
    client = app.test_client()
    create_test_admin(app)
    assert AuthActions(client).login().status_code == 302
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200
        assert [label for _, _, label in sidebar(response.get_data(as_text=True))][-1] == "Fine"
    errors = [record.getMessage() for record in caplog.records if record.name == "hub.plugins"]
    assert len(errors) == 4, errors  # once each, not on every page
    assert "'nowhere.index' does not exist" in errors[0] and "'members.edit' needs arguments" in errors[1]
    assert "not a hub.nav.NavItem" in errors[2] and "failed in hub_nav_items" in errors[3]


def test_a_nav_item_says_where_it_goes():
    with pytest.raises(ValueError, match="endpoint or a url"):
        NavItem("x")
    with pytest.raises(ValueError, match="endpoint or a url"):
        NavItem("x", endpoint="a.b", url="/c")
    with pytest.raises(ValueError, match="section 'reports'"):
        NavItem("x", endpoint="a.b", section="reports")


def test_hook_hub_sync_finished(tmp_path):
    from hub.extensions import db
    from hub.models import RunStatus, SyncRun, Trigger
    from hub.sync_events import announce_sync_finished

    seen = []

    class Listens:
        @hookimpl
        def hub_sync_finished(self, run):
            seen.append((run.id, run.status))

    class Breaks:
        @hookimpl
        def hub_sync_finished(self):
            raise RuntimeError("webhook down")

    app = make_app(tmp_path, plugins=[Breaks(), Listens()])
    with app.app_context():
        run = SyncRun(
            integration_name="x",
            trigger=Trigger.CLI,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 2),
            status=RunStatus.SUCCEEDED,
        )
        db.session.add(run)
        db.session.commit()
        announce_sync_finished(run)
        assert seen == [(run.id, RunStatus.SUCCEEDED)]
        assert db.session.get(SyncRun, run.id).status is RunStatus.SUCCEEDED


def test_a_misspelled_hook_stops_start_up(tmp_path):
    class Typo:
        @hookimpl
        def hub_provider(self):  # missing "s"
            return []

    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        make_app(tmp_path, plugins=[Typo()])


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A real distribution with a `kintai_hub` entry point, visible to importlib.metadata."""
    site = tmp_path / "site"
    (site / "hub_fake_plugin").mkdir(parents=True)
    (site / "hub_fake_plugin" / "__init__.py").write_text(
        textwrap.dedent("""
        from hub import hookimpl
        from tests.test_plugins import TinyExporter

        @hookimpl
        def hub_exporters():
            return [TinyExporter()]
    """)
    )
    dist = site / "hub_fake_plugin-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-fake-plugin\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text("[kintai_hub]\nfake = hub_fake_plugin\n")
    monkeypatch.syspath_prepend(str(site))
    return "fake"


def test_entry_point_plugins_load(installed_plugin, tmp_path):
    pm = get_plugin_manager()
    assert pm.get_plugin(installed_plugin) is not None
    app = make_app(tmp_path)
    with app.app_context():
        assert "tsv" in exporters()


def test_blocked_plugins_do_not_load(installed_plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_BLOCKED_PLUGINS", "other, fake")
    from hub.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    with app.app_context():
        assert "tsv" not in exporters()
    assert app.extensions["hub"].is_blocked("fake")


def test_hub_plugins_lists_name_version_and_hooks(installed_plugin, tmp_path):
    app = make_app(tmp_path, plugins=[ProvidesTiny()])
    result = app.test_cli_runner().invoke(args=["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.output)}
    assert listed["fake"] == {"name": "fake", "version": "1.2.3", "hooks": ["hub_exporters"]}
    tiny = [item for item in listed.values() if item["hooks"] == ["hub_providers"]]
    assert len(tiny) == 1 and tiny[0]["version"] is None
    # The built-in plugins come from the hub's own entry points, with its distribution's version.
    assert listed["kingoftime"] == {
        "name": "kingoftime",
        "version": listed["jobcan"]["version"],
        "hooks": ["hub_init_app", "hub_providers"],
    }
    text = app.test_cli_runner().invoke(args=["plugins"]).output
    assert "fake 1.2.3" in text and "hooks: hub_exporters" in text
