"""The code of the docs runs, what they quote is the code that runs, and what they say `hub` prints, it prints.

Every code block of the docs is marked (see tests/docs_examples.py for the markers). The ``file:`` blocks of a
doc (docs/plugins.md: a third-party plugin for a made-up system, Acme HR) are written out as its example package
in a temporary folder, installed there the way `pip install -e .` would, and exercised here. The ``excerpt:``
blocks (docs/providers.md: the built-in KING OF TIME plugin) must be found verbatim in the files they quote, and
the walk-through's CLI session runs against the KING OF TIME simulator. A new marked block is picked up by the
generic tests, a new unmarked one fails ``test_every_code_block_is_run_or_says_why``.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import shlex
import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import pytest
import requests_mock
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from hub import hookimpl
from hub.extensions import db
from hub.models import AttendanceDay, Integration, Member, RunStatus, SyncRun, Trigger
from hub.plugins import installed_plugins, providers
from hub.providers import CheckStatus, ProviderSettings
from hub.records import DayRecord, Interval, RemoteMember
from hub.sync import blackout
from hub.testing import ConformanceHarness, ProviderConformance
from hub_plugins.kingoftime.provider import KingOfTimeProvider
from hub_plugins.kingoftime.simulator import DayKind, KingOfTimeSimulator, SimulatorConfig, simulator_command
from tests.conftest import AuthActions, create_test_admin, make_app
from tests.docs_examples import (
    DOCS,
    MARKED_LANGUAGES,
    Block,
    blocks,
    console_commands,
    file_blocks,
    import_path,
    layout,
    quoted_in,
    run_pytest,
    write_dist_info,
    write_example,
)
from tests.export_data import build_november

REPOSITORY = DOCS.parent
PLUGINS_MD = DOCS / "plugins.md"
PROVIDERS_MD = DOCS / "providers.md"
ALL_DOCS = sorted(DOCS.glob("*.md"))
EXAMPLE_FILES = [(doc, path) for doc in ALL_DOCS for path in file_blocks(doc)]


class Examples:
    """Writes docs' example packages under a test's folder; the modules imported from them are forgotten after."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        self.folder = tmp_path / "examples"
        self.monkeypatch = monkeypatch

    def write(self, doc: Path) -> Path:
        """The doc's example package on disk; returns its root folder."""
        return write_example(doc, self.folder)

    def importable(self, doc: Path) -> Path:
        """The package on disk with its modules on ``sys.path``, as in a source checkout."""
        root = self.write(doc)
        self.monkeypatch.syspath_prepend(str(import_path(root)))
        return root

    def installed(self, doc: Path) -> Path:
        """The package as `pip install -e .` leaves it: importable, and its entry points visible to the hub."""
        root = self.importable(doc)
        site = self.folder / "site"
        write_dist_info(root, site)
        self.monkeypatch.syspath_prepend(str(site))
        return root

    def forget(self) -> None:
        # The next test must import its own copy of the example, not this one's.
        for name, module in list(sys.modules.items()):
            if Path(getattr(module, "__file__", None) or "/").resolve().is_relative_to(self.folder.resolve()):
                del sys.modules[name]


@pytest.fixture
def examples(tmp_path, monkeypatch):
    examples = Examples(tmp_path, monkeypatch)
    yield examples
    examples.forget()


def module_name(path: str) -> str | None:
    """The module a file under ``src/`` is imported as (``src/a/b.py`` is ``a.b``); None elsewhere."""
    parts = Path(path).with_suffix("").parts
    if parts[0] != "src" or Path(path).suffix != ".py":
        return None
    return ".".join(parts[1:-1] if parts[-1] == "__init__" else parts[1:])


# --- every block is marked, and every marked file is valid ------------------------------------------


@pytest.mark.parametrize("doc", ALL_DOCS, ids=lambda doc: doc.name)
def test_every_code_block_is_run_or_says_why(doc):
    unmarked = [
        block.where
        for block in blocks(doc)
        if block.language in MARKED_LANGUAGES and block.kind not in ("file", "output", "excerpt", "not run")
    ]
    assert not unmarked, (
        f"put <!-- file: PATH -->, <!-- excerpt: PATH -->, <!-- output: hub ARGS --> or <!-- not run: REASON --> "
        f"before: {unmarked}"
    )
    for block in blocks(doc):
        if block.kind in ("file", "output", "excerpt", "not run"):
            assert block.value, f"{block.where}: <!-- {block.kind}: … --> says nothing after the colon"
        if block.kind == "output":
            assert block.value.startswith("hub "), f"{block.where}: only `hub` commands are compared"


@pytest.mark.parametrize("doc", [doc for doc in ALL_DOCS if layout(doc)], ids=lambda doc: doc.name)
def test_files_are_the_layouts_files(doc):
    _, listed = layout(doc)
    written = set(file_blocks(doc))
    assert written <= set(listed), f"files missing from the layout tree: {sorted(written - set(listed))}"
    empty = [path for path in listed if path not in written]
    assert all(Path(path).name == "__init__.py" for path in empty), f"no block writes {empty}"


@pytest.mark.parametrize(("doc", "path"), EXAMPLE_FILES, ids=[f"{doc.name}:{path}" for doc, path in EXAMPLE_FILES])
def test_example_file_is_valid(examples, doc, path):
    """Modules under src/ import, others compile (tests run below); TOML parses; templates parse."""
    root = examples.importable(doc)
    text = (root / path).read_text(encoding="utf-8")
    suffix = Path(path).suffix
    if suffix == ".py":
        compile(text, path, "exec")
        if module_name(path):
            importlib.import_module(module_name(path))
    elif suffix == ".toml":
        tomllib.loads(text)
    elif suffix == ".html":
        jinja2.Environment().parse(text)
    elif suffix == ".po":
        catalog = read_po(io.StringIO(text))
        assert all(message.string for message in catalog if message.id), f"{path}: a msgstr is empty"
    else:
        pytest.fail(f"{doc.name}: no check for a {suffix} file ({path}): add one here")


EXCERPTS = [block for doc in ALL_DOCS for block in blocks(doc) if block.kind == "excerpt"]


@pytest.mark.parametrize("block", EXCERPTS, ids=[f"{block.where}:{block.value}" for block in EXCERPTS])
def test_excerpt_is_quoted_verbatim(block):
    """A block marked ``<!-- excerpt: PATH -->`` is whole lines of PATH, unchanged but for its indentation."""
    source = REPOSITORY / block.value
    assert source.is_file(), f"{block.where}: no file {block.value} in the repository"
    assert quoted_in(block.text, source.read_text(encoding="utf-8")), (
        f"{block.where}: this excerpt is no longer in {block.value}: quote the file as it is now"
    )


def test_providers_md_walks_through_the_real_plugin():
    """providers.md quotes every module of the KING OF TIME plugin, and builds no example package of its own."""
    quoted = {block.value for block in blocks(PROVIDERS_MD) if block.kind == "excerpt"}
    modules = {
        f"plugins/kingoftime/{name}.py" for name in ("__init__", "catalog", "forms", "client", "mapping", "provider")
    }
    assert modules <= quoted, f"not quoted: {sorted(modules - quoted)}"
    assert {"pyproject.toml", "tests/test_kingoftime_conformance.py"} <= quoted
    assert not file_blocks(PROVIDERS_MD) and not layout(PROVIDERS_MD)


def test_excerpt_matching():
    source = "class A:\n    def f(self):\n        x = 1\n\n        return x\n"
    assert quoted_in("def f(self):\n    x = 1\n\n    return x\n", source)  # dedented, blank line kept
    assert quoted_in("    x = 1\n", source)
    assert not quoted_in("def f(self):\n    x = 2\n", source)  # changed
    assert not quoted_in("def f(self):\n    return x\n", source)  # a line left out
    assert not quoted_in("x = ", source)  # not whole lines
    assert not quoted_in("\n", source)


def test_blocks_and_their_markers(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Text.\n<!-- file: src/a.py -->\n```python\nx = 1\n```\n\n<!-- not run: a shell session -->\n\n"
        "````python\n```\nnested\n```\n````\nProse ends here.\n~~~toml\nk = 1\n~~~\n",
        encoding="utf-8",
    )
    found = [(block.line, block.language, block.kind, block.value, block.text) for block in blocks(doc)]
    assert found == [
        (3, "python", "file", "src/a.py", "x = 1\n"),
        (9, "python", "not run", "a shell session", "```\nnested\n```\n"),
        (15, "toml", None, "", "k = 1\n"),  # the line before is prose, not a marker
    ]


# --- what the docs say `hub` prints ---------------------------------------------------------------------


def documented_outputs() -> list:
    """Each ``<!-- output: hub ARGS -->`` block, and each ``$ hub plugins`` of a console block, with its output."""
    found = []
    for doc in ALL_DOCS:
        for block in blocks(doc):
            if block.kind == "output":
                found.append(pytest.param(doc, block.value, block.text, id=f"{block.where} {block.value}"))
            elif block.language == "console":
                for command, shown in console_commands(block):
                    if shlex.split(command)[:2] == ["hub", "plugins"]:
                        text = "".join(line + "\n" for line in shown)
                        found.append(pytest.param(doc, command, text, id=f"{block.where} {command}"))
    return found


@pytest.mark.parametrize(("doc", "command", "shown"), documented_outputs())
def test_documented_output_is_what_hub_prints(examples, tmp_path, doc, command, shown):
    """With the doc's example package installed beside the built-in plugins, `hub …` prints exactly that."""
    if "pyproject.toml" in file_blocks(doc):
        examples.installed(doc)
    result = invoke(make_app(tmp_path).test_cli_runner(), command, tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == shown


def test_blocked_plugin_is_not_imported(examples, tmp_path, monkeypatch):
    """The documented `HUB_BLOCKED_PLUGINS=acmehr,hrmos` keeps the installed example out, unimported."""
    examples.installed(PLUGINS_MD)
    command = next(
        command
        for block in blocks(PLUGINS_MD)
        if block.language == "console"
        for command, _ in console_commands(block)
        if command.startswith("HUB_BLOCKED_PLUGINS=")
    )
    monkeypatch.setenv("HUB_BLOCKED_PLUGINS", shlex.split(command)[0].partition("=")[2])
    result = make_app(tmp_path).test_cli_runner().invoke(args=["plugins", "--json"])
    assert [plugin["name"] for plugin in json.loads(result.stdout)] == ["csv_export", "jobcan", "kingoftime"]
    assert "hub_acmehr" not in sys.modules


# --- providers.md: the walk-through of the KING OF TIME plugin ---------------------------------------


def app_with_example(tmp_path: Path, plugin: object):
    """A hub with plugins.md's example plugin registered inline, beside the built-in plugins."""
    return make_app(tmp_path, plugins=[plugin])


def entry_points(root: Path) -> dict[str, str]:
    """The ``kintai_hub`` entry points of a pyproject.toml in ``root``: plugin name → module."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["entry-points"]["kintai_hub"]


def session(doc: Path, command: str) -> Block:
    """The doc's console block that runs ``command``."""
    (found,) = [block for block in blocks(doc) if block.language == "console" and f"$ {command}" in block.text]
    return found


def invoke(runner, command: str, files: Path):
    """Run a documented ``hub …`` command line, with ``< FILE`` read from ``files`` as standard input."""
    args = shlex.split(command)
    stdin = None
    if "<" in args:
        at = args.index("<")
        stdin = (files / args[at + 1]).read_text(encoding="utf-8")
        del args[at : at + 2]
    assert args[0] == "hub", command
    return runner.invoke(args=args[1:], input=stdin)


def test_walkthrough_conformance_harness_skips_nothing():
    """The harness providers.md quotes (tests/test_kingoftime_conformance.py, which the suite runs) gives the
    whole contract: every optional fault is implemented, so no test of ProviderConformance is skipped."""
    from tests.test_kingoftime_conformance import KingOfTimeHarness, TestKingOfTimeConformance

    assert issubclass(TestKingOfTimeConformance, ProviderConformance)
    assert issubclass(KingOfTimeHarness, ConformanceHarness) and KingOfTimeHarness.supports_rate_limit
    for optional in ("settings_missing_scope", "inject_unreadable_day", "inject_rate_limit", "persistent_rate_limit"):
        assert getattr(KingOfTimeHarness, optional) is not getattr(ConformanceHarness, optional), optional


def test_walkthrough_entry_point_loads_the_plugin(tmp_path):
    """The entry point providers.md quotes from the hub's pyproject.toml is how the plugin loads, like any
    installed plugin: nothing registered inline, the provider and both hooks come from hub_plugins.kingoftime."""
    assert entry_points(REPOSITORY)["kingoftime"] == "hub_plugins.kingoftime"
    app = make_app(tmp_path)
    with app.app_context():
        provider = providers()["kingoftime"]
    assert type(provider).__module__ == "hub_plugins.kingoftime.provider" and provider.label == "KING OF TIME"
    (info,) = [info for info in installed_plugins(app.extensions["hub"]) if info.name == "kingoftime"]
    assert info.hooks == ["hub_init_app", "hub_providers"]


DOCUMENTED_SIMULATOR = "http://127.0.0.1:8760"
NOON_IN_TOKYO = datetime(2026, 12, 1, 3, tzinfo=UTC)


class KingOfTimeAtNoon:
    """The plugin's own provider on a clock at noon in Tokyo (its entry point blocked), so its check reads the API
    and prints the documented message whenever the suite runs: inside KING OF TIME's restricted hours it would
    verify only the token, and say so."""

    @hookimpl
    def hub_providers(self):
        return [KingOfTimeProvider(now=lambda: NOON_IN_TOKYO)]


@pytest.fixture
def walkthrough(tmp_path, monkeypatch):
    """providers.md's session against the KING OF TIME simulator: the documented URL is the simulator command's
    default, for which the test's simulator (on a free port) stands in; its token is in token.txt, and the hub
    has a member for each of its employees."""
    (port,) = [param.default for param in simulator_command.params if param.name == "port"]
    assert f"http://127.0.0.1:{port}" == DOCUMENTED_SIMULATOR
    monkeypatch.setattr(blackout, "utcnow", lambda: NOON_IN_TOKYO)  # the core's clock too: outside the windows
    config = SimulatorConfig(employees=5, start=date(2026, 11, 1), end=date(2026, 11, 30), seed=2)
    with KingOfTimeSimulator(config) as sim:
        (tmp_path / "token.txt").write_text(sim.access_token + "\n", encoding="utf-8")
        app = make_app(tmp_path, plugins=[KingOfTimeAtNoon()], HUB_BLOCKED_PLUGINS=["kingoftime"])
        with app.app_context():
            db.session.add_all(
                Member(code=e["code"], name=f"{e['lastName']} {e['firstName']}") for e in sim.data.employees
            )
            db.session.commit()
        yield app, sim


def test_walkthrough_cli_session(walkthrough, tmp_path):
    """`hub integrations add`, `check` and `sync` as providers.md shows them, against the simulator; the sync
    stores a night shift on its work date, past midnight."""
    app, sim = walkthrough
    runner = app.test_cli_runner()
    for command, shown in console_commands(session(PROVIDERS_MD, "hub integrations add")):
        result = invoke(runner, command.replace(DOCUMENTED_SIMULATOR, sim.url), tmp_path)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert result.stdout.splitlines()[: len(shown)] == shown, command
    key, night = next(pair for pair, kind in sorted(sim.data.day_kinds.items()) if kind is DayKind.NIGHT_SHIFT)
    with app.app_context():
        run = db.session.scalars(select(SyncRun)).one()
        assert run.status is RunStatus.SUCCEEDED and run.created > 0 and run.rejected == 0
        shift = db.session.scalars(
            select(AttendanceDay)
            .join(Member)
            .where(Member.code == sim.data.employee(key)["code"], AttendanceDay.work_date == night)
        ).one()
        assert shift.clock_in >= 20 * 60 and shift.clock_out > 24 * 60


def test_walkthrough_add_saves_nothing_when_check_fails(walkthrough, tmp_path):
    """As the doc says: a failed check prints `Not saved:` and the message on stderr and exits 1; an unknown
    `--set` field is refused (exit 2) with the list of the form's fields."""
    app, sim = walkthrough
    runner = app.test_cli_runner()
    ((add, _), *_) = console_commands(session(PROVIDERS_MD, "hub integrations add"))
    wrong = add.replace(DOCUMENTED_SIMULATOR, sim.url).replace("access_token=- < token.txt", "access_token=wrong-1")
    result = invoke(runner, wrong, tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Not saved: KING OF TIME refused the token for /tokens/{token}/available"), (
        result.stderr
    )
    assert "wrong-1" not in result.output
    result = invoke(runner, "hub integrations add kingoftime 本社 --set colour=blue", tmp_path)
    assert result.exit_code == 2
    assert "(fields: access_token, api_base_url, environment, requests_per_second)" in result.stderr, result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count(Integration.id))) == 0


# --- plugins.md: one example per hook, all in the module the entry point names ------------------------


@pytest.fixture
def acmehr_plugin(examples):
    """The module plugins.md's entry point names, imported from its example package."""
    root = examples.importable(PLUGINS_MD)
    return importlib.import_module(entry_points(root)["acmehr"])


def logged_in_client(app):
    client = app.test_client()
    create_test_admin(app)
    assert AuthActions(client).login().status_code == 302
    return client


def test_init_app_example_adds_a_page_and_a_command(acmehr_plugin, tmp_path):
    app = app_with_example(tmp_path, acmehr_plugin)
    response = app.test_client().get("/acmehr/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with app.app_context():
        db.session.add(Integration(provider="acmehr", name="本社", settings={}))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["acmehr-count"]).output == "1 Acme HR integration(s)\n"
    page = logged_in_client(app).get("/acmehr/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "<title>Acme HR · Kintai Hub</title>" in html  # the template extends the core's base.html
    assert "<h1>Acme HR</h1>\n<ul><li>本社</li></ul>" in html


def pybabel(root: Path, command: str) -> None:
    """Run a documented ``pybabel …`` command line in the example's root folder, with the hub's Babel."""
    args = shlex.split(command)
    assert args[0] == "pybabel", command
    binary = Path(sys.executable).with_name("pybabel")
    result = subprocess.run([str(binary), *args[1:]], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def pybabel_commands() -> dict[str, str]:
    """The documented ``pybabel`` command lines of plugins.md, by subcommand."""
    return {
        shlex.split(command)[1]: command
        for block in blocks(PLUGINS_MD)
        if block.language == "console"
        for command, _ in console_commands(block)
        if command.startswith("pybabel ")
    }


@pytest.fixture
def translated_plugin(examples):
    """plugins.md's module after the documented `pybabel extract` and `pybabel compile`, as its author runs them."""
    root = examples.importable(PLUGINS_MD)
    commands = pybabel_commands()
    assert set(commands) == {"extract", "init", "update", "compile"}
    pybabel(root, commands["extract"])
    (pot,) = (root / "src" / "hub_acmehr" / "translations").glob("*.pot")
    (po,) = (root / "src" / "hub_acmehr" / "translations").rglob("*.po")
    extracted = {message.id for message in read_po(io.BytesIO(pot.read_bytes())) if message.id}
    translated = {message.id for message in read_po(io.BytesIO(po.read_bytes())) if message.id and message.string}
    assert extracted and extracted <= translated, "the doc's catalogue translates every string the example uses"
    pybabel(root, commands["compile"])
    assert po.with_suffix(".mo").is_file()
    return importlib.import_module(entry_points(root)["acmehr"])


def test_nav_items_example_adds_the_page_to_the_admin_menu_in_the_pages_language(translated_plugin, tmp_path):
    """The documented entry comes after the core's 管理 links, highlighted on its own page, in Japanese from the
    example's own catalogue (and in English on an English page)."""
    app = app_with_example(tmp_path, translated_plugin)
    client = logged_in_client(app)
    entry = '<li><a href="/acmehr/" class="{}">{}</a></li>'
    html = client.get("/acmehr/?lang=ja").get_data(as_text=True)
    admin_menu = html[html.index("管理</p>") : html.index("</nav>")]
    assert f"エクスポート</a></li>\n    {entry.format('current', 'Acme HR 連携')}\n  </ul>" in admin_menu
    html = client.get("/?lang=en").get_data(as_text=True)
    assert entry.format("", "Acme HR integrations") in html and html.count("/acmehr/") == 1


def test_translation_example_follows_the_language_of_a_command(translated_plugin, tmp_path, monkeypatch):
    """Outside a page too: a command in HUB_LANGUAGE gets the catalogue's Japanese, and the wheel would carry it."""
    from hub_acmehr.catalog import _

    app = app_with_example(tmp_path, translated_plugin)
    for language, text in (("ja", "Acme HR 連携"), ("en", "Acme HR integrations")):
        monkeypatch.setenv("HUB_LANGUAGE", language)
        with app.app_context():
            assert _("Acme HR integrations") == text
    package_data = tomllib.loads("".join(b.text for b in file_blocks(PLUGINS_MD)["pyproject.toml"]))["tool"]
    patterns = package_data["setuptools"]["package-data"]["hub_acmehr"]
    (mo,) = Path(translated_plugin.__file__).parent.rglob("*.mo")
    relative = mo.relative_to(Path(translated_plugin.__file__).parent)
    assert any(relative.match(pattern) for pattern in patterns), patterns


def test_minimal_provider_example(acmehr_plugin, tmp_path):
    app = app_with_example(tmp_path, acmehr_plugin)
    with app.app_context():
        provider = providers()["acmehr"]
    settings = ProviderSettings(key="1", values={"access_token": "t0ken"})
    assert provider.check(settings).status is CheckStatus.OK
    refused = provider.check(ProviderSettings(key="1", values={}))
    assert refused.status is CheckStatus.BAD_CREDENTIALS and refused.message == "アクセストークンを入力してください。"
    assert provider.fetch_members(settings) == [RemoteMember(remote_id="8b6ee6", code="P1001", name="山田 太郎")]
    calls = []
    records = provider.fetch_attendance(
        settings, iter(["8b6ee6"]), date(2026, 11, 2), date(2026, 11, 3), lambda **progress: calls.append(progress)
    )
    lunch = (Interval(720, 780),)
    assert list(records) == [
        DayRecord(remote_id="8b6ee6", work_date=date(2026, 11, 2), clock_in=540, clock_out=1080, breaks=lunch),
        DayRecord(remote_id="8b6ee6", work_date=date(2026, 11, 3), clock_in=540, clock_out=1080, breaks=lunch),
    ]
    assert calls == [{"stage": "attendance", "done": 1, "total": 1, "requests": 1}]


def test_installed_provider_example_syncs_through_the_core(examples, tmp_path):
    """A third-party plugin installed as `pip install -e .` leaves it, loaded from its entry point alone (nothing
    registered inline): the hub offers its provider, and `hub integrations add` and `hub sync` use it."""
    examples.installed(PLUGINS_MD)
    app = make_app(tmp_path)
    with app.app_context():
        assert type(providers()["acmehr"]).__module__ == "hub_acmehr.provider"
        assert "acmehr" in [info.name for info in installed_plugins(app.extensions["hub"])]
        db.session.add(Member(code="P1001", name="山田 太郎"))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["integrations", "add", "acmehr", "本社"])
    assert result.exit_code == 1 and result.stderr == "Not saved: アクセストークンを入力してください。\n"
    result = runner.invoke(args=["integrations", "add", "acmehr", "本社", "--set", "access_token=t0ken"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["sync", "本社", "--from", "2026-11-02", "--to", "2026-11-06"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(AttendanceDay.id))) == 5


def test_tsv_exporter_example(acmehr_plugin, tmp_path, monkeypatch):
    """The documented `hub export tsv … -o november.tsv` writes the file; the エクスポート page has a TSV tab."""
    app = app_with_example(tmp_path, acmehr_plugin)
    build_november(app)
    command = re.search(r"`(hub export tsv [^`]+)`", PLUGINS_MD.read_text(encoding="utf-8"))[1]
    monkeypatch.chdir(tmp_path)
    result = invoke(app.test_cli_runner(), command, tmp_path)
    assert result.exit_code == 0, result.output
    written = shlex.split(command)[shlex.split(command).index("-o") + 1]
    assert (tmp_path / written).read_bytes().decode("utf-8") == (
        "社員コード\t名前\t年月日\t勤務(分)\t工数(分)\r\n"
        "P1001\t山田 太郎\t2026-11-02\t465\t495\r\n"
        "P1001\t山田 太郎\t2026-11-03\t205\t210\r\n"
        "P1001\t山田 太郎\t2026-11-04\t\t0\r\n"  # full-day leave: no work time
        "P1001\t山田 太郎\t2026-11-05\t180\t0\r\n"
        "P1001\t山田 太郎\t2026-11-06\t240\t240\r\n"
        "P1001\t山田 太郎\t2026-11-09\t\t480\r\n"  # no clock-out
        "P1002\t'=SUM(A1)\t2026-11-02\t480\t480\r\n"  # a name a spreadsheet would read as a formula
        "P1003\t佐藤 花子\t2026-11-02\t360\t0\r\n"
    )
    page = logged_in_client(app).get("/exports/")
    assert "TSV (タブ区切り)" in page.get_data(as_text=True)


def test_sync_finished_example_posts_to_the_webhook(acmehr_plugin, tmp_path, monkeypatch, caplog):
    """Called as "Testing your plugin" says: `app.extensions["hub"].hook.hub_sync_finished(run=run)`."""
    url = "https://chat.example.com/hooks/kot"
    app = app_with_example(tmp_path, acmehr_plugin)
    with app.app_context(), requests_mock.Mocker() as mocker:
        mocker.post(url, [{"status_code": 204}, {"status_code": 500}])
        run = SyncRun(
            integration_name="本社",
            trigger=Trigger.CLI,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            status=RunStatus.PARTIAL,
            created=3,
            updated=1,
            rejected=2,
            unmatched_remote=4,
        )
        db.session.add(run)
        db.session.commit()
        hook = app.extensions["hub"].hook.hub_sync_finished
        hook(run=run)
        assert mocker.call_count == 0  # no ACME_CHAT_WEBHOOK_URL: nothing is sent
        monkeypatch.setenv("ACME_CHAT_WEBHOOK_URL", url)
        hook(run=run)
        (sent,) = mocker.request_history
        assert sent.json() == {
            "text": "同期 本社 2026-11-01〜2026-11-30: partial (作成 3 / 更新 1 / 却下 2 / 未照合 4)"
        }
        assert sent.timeout == 5
        hook(run=run)  # the webhook answers 500: logged, not raised
        assert f"Chat notification for sync run {run.id} failed: 500 Server Error" in caplog.text


def test_testing_your_plugin_example_passes(examples):
    """The example test file of "Testing your plugin", run by pytest against the example package."""
    root = examples.write(PLUGINS_MD)
    tests = "".join(path.read_text(encoding="utf-8") for path in (root / "tests").glob("test_*.py"))
    result = run_pytest(root, "-W", "error", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f" {len(re.findall(r'^def test_', tests, re.MULTILINE))} passed in " in result.stdout, result.stdout
