"""The code of docs/plugins.md and docs/providers.md runs, and what the docs say it prints, the hub prints.

Every code block of the docs is marked (see tests/docs_examples.py for the markers). The blocks of a doc are
written out as its example package in a temporary folder, installed there the way `pip install -e .` would,
and exercised here: a new marked block is picked up by the generic tests, a new unmarked one fails
``test_every_code_block_is_run_or_says_why``.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import jinja2
import pytest

from tests.docs_examples import (
    DOCS,
    MARKED_LANGUAGES,
    blocks,
    file_blocks,
    import_path,
    layout,
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
