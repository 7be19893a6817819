"""The code of docs/plugins.md and docs/providers.md runs, and what the docs say it prints, the hub prints.

Every code block of the docs is marked (see tests/docs_examples.py for the markers). The blocks of a doc are
written out as its example package in a temporary folder, installed there the way `pip install -e .` would,
and exercised here: a new marked block is picked up by the generic tests, a new unmarked one fails
``test_every_code_block_is_run_or_says_why``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import sys
import tomllib
from datetime import date
from pathlib import Path

import jinja2
import pytest
import requests_mock
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AttendanceDay, Integration, Member, RunStatus, SyncRun
from hub.plugins import installed_plugins, providers
from hub.testing import ProviderConformance
from tests.conftest import make_app
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


# --- providers.md: the KING OF TIME walk-through -----------------------------------------------------


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
    app = make_app(tmp_path, plugins=[module])
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
