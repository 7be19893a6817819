"""The code of docs/plugins.md and docs/providers.md runs, and what the docs say it prints, the hub prints.

Every code block of the docs is marked (see tests/docs_examples.py for the markers). The blocks of a doc are
written out as its example package in a temporary folder, installed there the way `pip install -e .` would,
and exercised here: a new marked block is picked up by the generic tests, a new unmarked one fails
``test_every_code_block_is_run_or_says_why``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import sys
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import pytest
import requests_mock
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AttendanceDay, Integration, Member, RunStatus, SyncRun, Trigger
from hub.plugins import installed_plugins, providers
from hub.providers import CheckStatus, ProviderSettings
from hub.records import DayRecord, Interval, RemoteMember
from hub.sync import blackout
from hub.testing import ProviderConformance
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
    run_pytest,
    write_dist_info,
    write_example,
)
from tests.export_data import build_november

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
        # Both docs build a `hub_kingoftime`: the next test must import its own, not this one's.
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
        if block.language in MARKED_LANGUAGES and block.kind not in ("file", "output", "not run")
    ]
    assert not unmarked, (
        f"put <!-- file: PATH -->, <!-- output: hub ARGS --> or <!-- not run: REASON --> before: {unmarked}"
    )
    for block in blocks(doc):
        if block.kind in ("file", "output", "not run"):
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
    else:
        pytest.fail(f"{doc.name}: no check for a {suffix} file ({path}): add one here")


def test_both_docs_build_one_package():
    """plugins.md and providers.md describe the same package: name, entry point, module of the provider."""

    def project(doc: Path) -> dict:
        return tomllib.loads(file_blocks(doc)["pyproject.toml"][0].text)["project"]

    assert project(PLUGINS_MD)["name"] == project(PROVIDERS_MD)["name"]
    assert project(PLUGINS_MD)["entry-points"] == project(PROVIDERS_MD)["entry-points"]
    for doc in (PLUGINS_MD, PROVIDERS_MD):
        provider = "".join(block.text for block in file_blocks(doc)["src/hub_kingoftime/provider.py"])
        assert "\nclass KingOfTimeProvider(Provider):" in provider, doc.name


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
    """The documented `HUB_BLOCKED_PLUGINS=kingoftime,hrmos` keeps the installed example out, unimported."""
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
    assert [plugin["name"] for plugin in json.loads(result.stdout)] == ["csv_export", "jobcan"]
    assert "hub_kingoftime" not in sys.modules


# --- providers.md: the KING OF TIME walk-through -----------------------------------------------------


def app_with_example(tmp_path: Path, plugin: object):
    """A hub with the doc's example plugin registered inline. The built-in KING OF TIME plugin offers a provider of
    the same name, so its entry point is blocked, as docs/plugins.md ("Testing your plugin") says to do."""
    return make_app(tmp_path, plugins=[plugin], HUB_BLOCKED_PLUGINS=["kingoftime"])


def entry_points(root: Path) -> dict[str, str]:
    """The ``kintai_hub`` entry points of the example's pyproject.toml: plugin name → module."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["entry-points"]["kintai_hub"]


def load_file(path: Path):
    """A module of the example's tests/ loaded from its file: the hub's own `tests` package has that name."""
    spec = importlib.util.spec_from_file_location(f"doc_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_walkthrough_conformance_suite_passes(examples):
    """The walk-through's own tests, in a new interpreter, as `pytest` in the package folder would run them."""
    root = examples.write(PROVIDERS_MD)
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "error" in config["filterwarnings"], "the doc runs its tests with warnings as errors"
    result = run_pytest(root, "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configfile: pyproject.toml" in result.stdout  # so its filterwarnings applied
    contract = [name for name in dir(ProviderConformance) if name.startswith("test_")]
    assert f" {len(contract)} passed in " in result.stdout, result.stdout  # none skipped: the fake does it all


def test_walkthrough_entry_point_module_offers_the_provider(examples, tmp_path):
    root = examples.importable(PROVIDERS_MD)
    assert entry_points(root) == {"kingoftime": "hub_kingoftime"}
    module = importlib.import_module(entry_points(root)["kingoftime"])
    app = app_with_example(tmp_path, module)
    with app.app_context():
        provider = providers()["kingoftime"]
    assert type(provider).__module__ == "hub_kingoftime.provider" and provider.label == "KING OF TIME"
    (info,) = [info for info in installed_plugins(app.extensions["hub"]) if info.name == module.__name__]
    assert info.hooks == ["hub_providers"]


@pytest.fixture
def installed_walkthrough(examples, tmp_path, monkeypatch):
    """providers.md's package installed, its fake answering at the documented API URL, and a hub with
    two members whose codes the fake's employees have (P1001, and P1011 who works a night shift)."""
    root = examples.installed(PROVIDERS_MD)
    fake = load_file(root / "tests" / "fake_kingoftime.py")
    base = re.search(r"--set api_base_url=(\S+)", session(PROVIDERS_MD, "hub integrations add").text)[1]
    monkeypatch.setattr(fake, "BASE", base)  # so the documented commands run exactly as written
    (tmp_path / "token.txt").write_text(fake.TOKEN + "\n", encoding="utf-8")
    monkeypatch.setattr(blackout, "utcnow", lambda: datetime(2026, 12, 1, 3, tzinfo=UTC))  # noon in Tokyo: no window
    app = make_app(tmp_path)
    with app.app_context():
        db.session.add_all([Member(code="P1001", name="社員 0"), Member(code="P1011", name="社員 10")])
        db.session.commit()
    with requests_mock.Mocker() as mocker:
        fake.FakeKingOfTime(mocker, 130, date(2026, 11, 1), date(2026, 11, 30))
        yield app


def test_walkthrough_cli_session(installed_walkthrough, tmp_path):
    """`hub integrations add`, `check` and `sync` as the doc shows them, against the fake."""
    app, runner = installed_walkthrough, installed_walkthrough.test_cli_runner()
    for command, shown in console_commands(session(PROVIDERS_MD, "hub integrations add")):
        result = invoke(runner, command, tmp_path)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert result.stdout.splitlines()[: len(shown)] == shown, command
    weekdays = [date(2026, 11, day) for day in range(1, 31) if date(2026, 11, day).weekday() < 5]
    with app.app_context():
        run = db.session.scalars(select(SyncRun)).one()
        assert run.status is RunStatus.SUCCEEDED and run.created == 2 * len(weekdays)
        night = db.session.scalars(
            select(AttendanceDay).join(Member).where(Member.code == "P1011", AttendanceDay.work_date == weekdays[0])
        ).one()
        assert (night.clock_in, night.clock_out) == (22 * 60, 30 * 60)  # 22:00 to 06:00 the next morning


def test_walkthrough_add_saves_nothing_when_check_fails(installed_walkthrough, tmp_path):
    """As the doc says: a failed check prints `Not saved:` and the message on stderr and exits 1; an unknown
    `--set` field is refused (exit 2) with the list of the form's fields."""
    runner = installed_walkthrough.test_cli_runner()
    add = "hub integrations add kingoftime 本社 --set access_token=wrong"
    result = invoke(runner, add, tmp_path)
    assert result.exit_code == 1
    assert result.stderr == "Not saved: KING OF TIME refused the access token. Issue a new one and paste it here.\n"
    result = invoke(runner, "hub integrations add kingoftime 本社 --set colour=blue", tmp_path)
    assert result.exit_code == 2 and "(fields: access_token, api_base_url)" in result.stderr
    with installed_walkthrough.app_context():
        assert db.session.scalar(select(func.count(Integration.id))) == 0


# --- plugins.md: one example per hook, all in the module the entry point names ------------------------


@pytest.fixture
def kingoftime_plugin(examples):
    """The module plugins.md's entry point names, imported from its example package."""
    root = examples.importable(PLUGINS_MD)
    return importlib.import_module(entry_points(root)["kingoftime"])


def logged_in_client(app):
    client = app.test_client()
    create_test_admin(app)
    assert AuthActions(client).login().status_code == 302
    return client


def test_init_app_example_adds_a_page_and_a_command(kingoftime_plugin, tmp_path):
    app = app_with_example(tmp_path, kingoftime_plugin)
    response = app.test_client().get("/kingoftime/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with app.app_context():
        db.session.add(Integration(provider="kingoftime", name="本社", settings={}))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["kingoftime-count"]).output == "1 KING OF TIME integration(s)\n"
    page = logged_in_client(app).get("/kingoftime/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "<title>KING OF TIME · Kintai Hub</title>" in html  # the template extends the core's base.html
    assert "<h1>KING OF TIME</h1>\n<ul><li>本社</li></ul>" in html


def test_minimal_provider_example(kingoftime_plugin, tmp_path):
    app = app_with_example(tmp_path, kingoftime_plugin)
    with app.app_context():
        provider = providers()["kingoftime"]
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


def test_minimal_provider_example_syncs_through_the_core(kingoftime_plugin, tmp_path):
    app = app_with_example(tmp_path, kingoftime_plugin)
    with app.app_context():
        db.session.add(Member(code="P1001", name="山田 太郎"))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["integrations", "add", "kingoftime", "本社"])
    assert result.exit_code == 1 and result.stderr == "Not saved: アクセストークンを入力してください。\n"
    result = runner.invoke(args=["integrations", "add", "kingoftime", "本社", "--set", "access_token=t0ken"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["sync", "本社", "--from", "2026-11-02", "--to", "2026-11-06"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(AttendanceDay.id))) == 5


def test_tsv_exporter_example(kingoftime_plugin, tmp_path, monkeypatch):
    """The documented `hub export tsv … -o november.tsv` writes the file; the エクスポート page has a TSV tab."""
    app = app_with_example(tmp_path, kingoftime_plugin)
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


def test_sync_finished_example_posts_to_the_webhook(kingoftime_plugin, tmp_path, monkeypatch, caplog):
    """Called as "Testing your plugin" says: `app.extensions["hub"].hook.hub_sync_finished(run=run)`."""
    url = "https://chat.example.com/hooks/kot"
    app = app_with_example(tmp_path, kingoftime_plugin)
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
        assert mocker.call_count == 0  # no KOT_CHAT_WEBHOOK_URL: nothing is sent
        monkeypatch.setenv("KOT_CHAT_WEBHOOK_URL", url)
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
