"""The hub's layers, enforced: who may import whom (README "Architecture", docs/plugins.md "The public API").

Every import in ``hub/`` and ``plugins/`` counts: those inside functions (a lazy import is still a dependency,
and a circle through one is still a circle), ``importlib.import_module("hub.…")`` and ``__import__`` with a
literal name, and ``hub.x.y`` reached as attributes of an imported package. A package's implicit import of its
parent is not an edge: a package importing its own submodules is how Python packages are built.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What a plugin may import from the hub (docs/plugins.md lists the same modules).
PUBLIC_API = (
    "hub",
    "hub.providers",
    "hub.blackout",
    "hub.pacing",
    "hub.records",
    "hub.exporters",
    "hub.forms",
    "hub.testing",
    "hub.marks",
    "hub.crowdlog",
    "hub.cells",
    "hub.models",
    "hub.extensions",
    "hub.nav",
    "hub.catalogs",
    "hub.simulation",
)
#: Admin areas: the pages and commands of one concern each.
AREAS = (
    "hub.attendance",
    "hub.auth",
    "hub.exports",
    "hub.integrations",
    "hub.manhours",
    "hub.members",
    "hub.settings",
    "hub.sync",
    "hub.timesheets",
    "hub.home",
    "hub.health",
    "hub.errors",
)
#: The composition root: builds the app and the command from everything else.
COMPOSITION = ("hub.app", "hub.cli", "hub.commands", "hub.wsgi")
#: Areas that own attendance, locks or man-hours: the sync reaches those through hub.store only.
STORAGE_AREAS = ("hub.attendance", "hub.timesheets", "hub.manhours", "hub.members", "hub.exports")


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[0] == "plugins":
        parts[0] = "hub_plugins"
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*ROOT.joinpath("hub").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]
    return {_module_name(path): path for path in files if "translations" not in path.parts}


SOURCES = _sources()


def _imports(module: str, path: Path) -> set[str]:
    """The project modules ``module`` imports, anywhere in it; ``from pkg import sub`` counts as ``pkg.sub``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    bound: dict[str, str] = {}  # a local name → the module it is bound to
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in SOURCES else base)
                if submodule in SOURCES:
                    bound[alias.asname or alias.name] = submodule
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            found.add(node.args[0].value)
    for node in ast.walk(tree):  # hub.sync.engine.run_sync after `import hub`
        if isinstance(node, ast.Attribute):
            names = _dotted(node)
            if names and names[0] in bound:
                dotted = [bound[names[0]], *names[1:]]
                found.update(
                    ".".join(dotted[:size]) for size in range(2, len(dotted) + 1) if ".".join(dotted[:size]) in SOURCES
                )
    return {name for name in found if name.split(".")[0] in ("hub", "hub_plugins")}


def _dynamic_import(call: ast.Call) -> bool:
    """``importlib.import_module("…")``, ``import_module("…")`` or ``__import__("…")`` with a literal name."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    literal = bool(call.args) and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
    return name in ("import_module", "__import__") and literal


def _dotted(node: ast.Attribute) -> list[str]:
    """``a.b.c`` as ``["a", "b", "c"]``; empty when the chain does not start at a plain name."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return [node.id, *reversed(names)] if isinstance(node, ast.Name) else []


GRAPH = {module: _imports(module, path) for module, path in SOURCES.items()}


def _within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _public(module: str) -> bool:
    return module in PUBLIC_API or module.startswith("hub.models.")


def _violations(modules, forbidden) -> list[str]:
    return sorted(
        f"{module} imports {target}" for module in modules for target in GRAPH[module] if forbidden(module, target)
    )


def test_the_graph_sees_the_project():
    assert {"hub", "hub.store", "hub.sync.engine", "hub_plugins.jobcan.mapping"} <= set(GRAPH)
    assert "hub.store" in GRAPH["hub.sync.write"]  # an ordinary import
    assert "hub.sync.engine" in GRAPH["hub.sync"]  # one inside a function
    assert "hub.marks" in GRAPH["hub_plugins.csv_export.formats"]  # a plugin's


def test_imports_the_ast_walk_finds(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import importlib\nimport hub\nfrom hub import store as kept\n"
        "def f():\n"
        "    importlib.import_module('hub.timesheets.days')\n"
        "    __import__('hub.exports.query')\n"
        "    return hub.sync.engine.run_sync, kept.chunks\n"
    )
    assert _imports("hub_plugins.sample", source) == {
        "hub",
        "hub.store",
        "hub.timesheets.days",
        "hub.exports.query",
        "hub.sync",
        "hub.sync.engine",
    }


def test_the_core_never_imports_a_plugin():
    core = [module for module in GRAPH if module.split(".")[0] == "hub"]
    assert _violations(core, lambda _module, target: target.startswith("hub_plugins")) == []


def test_built_in_plugins_import_only_the_public_api():
    plugins = [module for module in GRAPH if module.startswith("hub_plugins")]
    found = _violations(plugins, lambda _module, target: target.startswith("hub") and not _public(target))
    assert [line for line in found if " imports hub_plugins" not in line] == []


#: The tables of stored days, locks and man-hours: only the core writes them (hub.store, the areas' services).
STORAGE_MODELS = {"AttendanceDay", "AttendanceBreak", "HourlyLeaveInterval", "TimeEntry", "TimesheetDay"}


def test_plugins_leave_stored_days_to_the_core():
    """hub.models is public for pages a plugin adds; the attendance tables are still the core's to write."""
    named = []
    for module, path in SOURCES.items():
        if module.startswith("hub_plugins"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
            names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
            named += [f"{module} names {name}" for name in sorted(names & STORAGE_MODELS)]
    assert named == []


def test_the_public_api_imports_no_area():
    public = [module for module in GRAPH if _public(module)]

    def forbidden(module: str, target: str) -> bool:
        # `hub.create_app` builds the app on demand; that is the package's one way into the rest.
        if module == "hub" and target == "hub.app":
            return False
        return _within(target, AREAS + COMPOSITION)

    assert _violations(public, forbidden) == []


def test_models_and_plumbing_import_no_area():
    lower = [
        module
        for module in GRAPH
        if module.split(".")[0] == "hub" and not _within(module, AREAS + COMPOSITION) and not _public(module)
    ]
    lower += [module for module in GRAPH if module == "hub.models" or module.startswith("hub.models.")]
    assert _violations(lower, lambda _module, target: _within(target, AREAS + COMPOSITION)) == []


def test_the_sync_reaches_days_and_locks_through_the_store():
    sync = [module for module in GRAPH if _within(module, ("hub.sync",))]
    assert _violations(sync, lambda _module, target: _within(target, STORAGE_AREAS)) == []


def test_no_import_circle_in_the_hub():
    core = {module: {t for t in targets if t in GRAPH} for module, targets in GRAPH.items()}
    circles = [sorted(component) for component in _strongly_connected(core) if len(component) > 1]
    circles += [[module] for module, targets in core.items() if module in targets]
    assert circles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_a_circle_is_found():
    assert [sorted(c) for c in _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) if len(c) > 1] == [
        ["a", "b", "c"]
    ]


@pytest.mark.parametrize("document", ["docs/plugins.md", "README.md"])
def test_the_documents_list_the_public_api(document):
    text = ROOT.joinpath(document).read_text(encoding="utf-8")
    section = text[text.index("<!-- public-api -->") : text.index("<!-- /public-api -->")]
    listed = set(re.findall(r"`(hub(?:\.[a-z_]+)*)`", section))
    assert listed == set(PUBLIC_API)


def test_no_module_over_300_lines_without_a_reason():
    """A long module says why in its docstring ("Over 300 lines: …")."""
    long = []
    for module, path in SOURCES.items():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 300:
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if not re.search(r"over 300 lines: \w", docstring, re.IGNORECASE):
                long.append(f"{module}: {lines} lines")
    assert long == []


def test_every_area_is_listed():
    packages = {module for module in GRAPH if module.count(".") == 1 and module.startswith("hub.")}
    unlisted = defaultdict(list)
    for module in packages:
        if not (_within(module, AREAS + COMPOSITION) or _public(module)):
            unlisted["plumbing"].append(module)
    # Plumbing is what is left; naming it here keeps a new area from being filed there by accident.
    assert sorted(unlisted["plumbing"]) == sorted(PLUMBING)


PLUMBING = (
    "hub.audit",
    "hub.bulk",
    "hub.characters",
    "hub.chunks",
    "hub.codes",
    "hub.config",
    "hub.csvfiles",
    "hub.dates",
    "hub.encryption",
    "hub.hookspecs",
    "hub.i18n",
    "hub.importing",
    "hub.jobs",
    "hub.plugins",
    "hub.security",
    "hub.store",
    "hub.sync_events",
)
