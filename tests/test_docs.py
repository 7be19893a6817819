"""Every hook is documented in docs/plugins.md under its exact signature (as datasette checks its own)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from hub import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(
    (name, function) for name, function in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("hub_")
)


@pytest.mark.parametrize(("name", "function"), HOOKS, ids=[name for name, _ in HOOKS])
def test_hook_is_documented_with_its_signature(name, function):
    heading = f"## `{name}{inspect.signature(function)}`"
    assert heading in DOCS.read_text(encoding="utf-8").splitlines(), f"docs/plugins.md lacks {heading}"


def test_every_documented_hook_exists():
    documented = [line for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("## `hub_")]
    assert len(documented) == len(HOOKS)
