"""The fenced code blocks of docs/*.md, and the example packages they add up to.

A block says what it is with an HTML comment on the nearest non-blank line before its opening fence:

- ``<!-- file: PATH -->``: the block is (part of) the file PATH of the doc's example package, relative to the
  package's root folder. Blocks naming the same PATH are joined in document order, so a doc can build a
  module section by section.
- ``<!-- output: hub ARGS -->``: the block is what ``hub ARGS`` prints with the doc's example installed.
- ``<!-- layout -->``: the block draws the package's file tree (as ``tree`` does); its first line names the
  root folder, and every ``file:`` must be one of its files.
- ``<!-- excerpt: PATH -->``: the block is quoted from the file PATH of the hub's repository (relative to its
  root), verbatim but for a common indentation removed: tests/test_docs_examples.py finds it there, so a quote
  of the real code cannot rot.
- ``<!-- not run: REASON -->``: the block is deliberately not executed, for the reason given.

tests/test_docs_examples.py writes the files out, installs the package the way ``pip install -e .`` would
and runs what it holds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: Languages of blocks that must be marked: executed as a file, compared as output, or "not run" with a reason.
MARKED_LANGUAGES = {"python", "py", "toml", "jinja", "json"}

_FENCE = re.compile(r"(?P<fence>`{3,}|~{3,})\s*(?P<language>[\w+-]*).*")
_MARKER = re.compile(r"<!--\s*(?P<kind>file|output|layout|excerpt|not run)\s*(?::\s*(?P<value>.*?))?\s*-->")
_TREE_ENTRY = re.compile(r"(?P<indent>(?:│   |    )*)[├└]── (?P<name>[^\s#]+)")


@dataclass(frozen=True)
class Block:
    """One fenced block of a doc, with its marker (``kind`` is None for an unmarked block)."""

    doc: Path
    line: int  # the opening fence's, counting from 1
    language: str
    kind: str | None
    value: str  # the marker's PATH, command or reason
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """Every fenced block of ``doc`` in document order."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.fullmatch(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening["fence"]
        closing = re.compile(re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*")
        end = index + 1
        while end < len(lines) and not closing.fullmatch(lines[end]):
            end += 1
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        marker = _MARKER.fullmatch(previous)
        text = "".join(line + "\n" for line in lines[index + 1 : end])
        found.append(
            Block(
                doc=doc,
                line=index + 1,
                language=opening["language"].lower(),
                kind=marker["kind"] if marker else None,
                value=(marker["value"] or "") if marker else "",
                text=text,
            )
        )
        index = end + 1
    return found


def layout(doc: Path) -> tuple[str, list[str]] | None:
    """The root folder and the files of the doc's ``<!-- layout -->`` tree, or None without one."""
    trees = [block for block in blocks(doc) if block.kind == "layout"]
    if not trees:
        return None
    assert len(trees) == 1, f"{doc.name}: one <!-- layout --> block at most"
    first, *entries = trees[0].text.splitlines()
    folders: list[str] = []
    files: list[str] = []
    for entry in entries:
        match = _TREE_ENTRY.match(entry)
        assert match, f"{trees[0].where}: not a tree line: {entry!r}"
        del folders[len(match["indent"]) // 4 :]
        if match["name"].endswith("/"):
            folders.append(match["name"].rstrip("/"))
        else:
            files.append("/".join([*folders, match["name"]]))
    return first.strip().rstrip("/"), files


def file_blocks(doc: Path) -> dict[str, list[Block]]:
    """The ``file:`` blocks of ``doc`` by path, each path's blocks in document order."""
    by_path: dict[str, list[Block]] = {}
    for block in blocks(doc):
        if block.kind == "file":
            by_path.setdefault(block.value, []).append(block)
    return by_path


def write_example(doc: Path, parent: Path) -> Path:
    """Write the doc's example package into ``parent`` and return its root folder.

    The root is named as the layout's first line says (the doc's name without one). A file the layout lists
    but no block fills is written empty, as a package's ``__init__.py`` often is.
    """
    tree = layout(doc)
    root = parent / (tree[0] if tree else doc.stem)
    contents = {path: "" for path in (tree[1] if tree else [])}
    for path, parts in file_blocks(doc).items():
        contents[path] = "\n".join(block.text for block in parts)
    for path, text in contents.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def import_path(root: Path) -> Path:
    """Where the example's modules are imported from: ``src`` in a src layout, else the root."""
    return root / "src" if (root / "src").is_dir() else root


def write_dist_info(root: Path, site: Path) -> Path:
    """What ``pip install -e .`` leaves for ``importlib.metadata``: name, version and entry points.

    Put ``site`` and :func:`import_path` on ``sys.path`` and the hub loads the plugin through its entry point.
    """
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    dist = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    groups = [
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
        for group, entries in project.get("entry-points", {}).items()
    ]
    (dist / "entry_points.txt").write_text("\n".join(groups), encoding="utf-8")
    return dist


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest in a new interpreter inside the example's root, its modules and the root importable.

    Hypothesis, a test dependency of the hub but not of the examples, is left out: its pytest plugin alone
    takes seconds to import.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(import_path(root)), str(root)]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def console_commands(block: Block) -> list[tuple[str, list[str]]]:
    """The ``$ command`` lines of a console block, each with the output lines shown after it."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    return commands


def quoted_in(excerpt: str, source: str) -> bool:
    """Whether ``excerpt`` is whole lines of ``source``, verbatim once both are dedented to the excerpt's indent.

    A method quoted without its class's indentation is found; a line changed, added or left out is not.
    """
    lines = textwrap.dedent(excerpt).strip("\n").splitlines()
    if not lines:
        return False
    haystack = "\n" + source.replace("\r\n", "\n") + "\n"
    for indent in range(0, 41, 4):
        needle = "\n".join(" " * indent + line if line.strip() else "" for line in lines)
        if "\n" + needle + "\n" in haystack:
            return True
    return False
