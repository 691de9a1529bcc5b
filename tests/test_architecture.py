"""The layer rules of docs/ARCHITECTURE.md, checked on the import graph of the source.

Every import counts, at module level or inside a function (a lazy import
still ties the modules together; only ``if TYPE_CHECKING:`` blocks are left
out, as they never run). A submodule importing its own package is not an
edge: Python runs a package's ``__init__`` before any of its submodules anyway.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crisiswatch"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """Dotted name → (file, the package its relative imports start from)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
            package = parts
        else:
            package = parts[:-1]
        found[".".join(parts)] = (path, package)
    return found


MODULES = _modules()


def _graph() -> dict[str, set[str]]:
    """Module → every module it imports: crisiswatch ones by dotted name, third-party ones by top-level name."""
    graph: dict[str, set[str]] = {}
    for name, (path, package) in MODULES.items():
        deps: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                submodules = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
                # ``from . import schema`` needs the submodule, not (only) the package.
                targets = submodules if len(submodules) == len(node.names) else [module, *submodules]
            for target in targets:
                if target in MODULES:
                    deps.add(target)
                elif not target.startswith("crisiswatch"):
                    deps.add(target.split(".")[0])
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _in(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


CORE = sorted(m for m in MODULES if not _in(m, "crisiswatch.tui", "crisiswatch.commands", "crisiswatch.cli"))
TUI = sorted(m for m in MODULES if _in(m, "crisiswatch.tui"))
SCREENS = sorted(m for m in TUI if _in(m, "crisiswatch.tui.screens") and not m.endswith(".screens"))


def test_the_graph_sees_the_package() -> None:
    """Guard against a rule passing because the walk found nothing."""
    assert {"crisiswatch.store", "crisiswatch.store.ingest", "crisiswatch.tui.app", "crisiswatch.cli"} <= set(MODULES)
    assert "crisiswatch.store.schema" in GRAPH["crisiswatch.store.connection"]
    assert "textual" in GRAPH["crisiswatch.tui.app"]
    assert "crisiswatch.tui.app" in GRAPH["crisiswatch.commands.run"]  # a lazy import inside a function
    assert "crisiswatch.store" not in GRAPH["crisiswatch.store.connection"]  # its own package is no edge


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _screen_edge(module: str, dep: str) -> bool:
    """A screen importing the app or another screen: the rule of its own test below."""
    return module in SCREENS and (dep == "crisiswatch.tui.app" or dep in SCREENS)


def test_no_import_cycles() -> None:
    graph = {m: {d for d in deps if not _screen_edge(m, d)} for m, deps in GRAPH.items()}
    assert _cycles(graph) == []


LAYERS: tuple[tuple[str, ...], ...] = (
    ("poller", "export", "report", "notify", "demo"),
    ("fetch", "parse", "fastfeed", "charset", "worker", "discover", "store"),
    ("match", "search", "cluster", "config", "opml", "tomledit"),
    ("sanitize", "fold", "identity", "outfile", "redact", "locations", "models"),
    ("errors", "units", "termsafe", "feedwriter", "store.lists"),
)
"""The core's layers, highest first, as docs/ARCHITECTURE.md draws them: a module imports its own layer or lower."""


def _layer(module: str) -> int | None:
    name = module.removeprefix("crisiswatch.")
    for index, layer in reversed(list(enumerate(LAYERS))):  # store.lists before store
        if any(name == m or name.startswith(m + ".") for m in layer):
            return index
    return None


def test_every_core_module_has_a_layer() -> None:
    unplaced = [m for m in CORE if m != "crisiswatch" and _layer(m) is None]
    assert unplaced == [], "place each in LAYERS here and in the drawing in docs/ARCHITECTURE.md"


def test_the_core_imports_only_its_own_layer_or_lower() -> None:
    upward = [f"{m} -> {d}" for m in CORE for d in sorted(GRAPH[m])
              if _layer(m) is not None and _layer(d) is not None and _layer(d) < _layer(m)]  # type: ignore[operator]
    assert upward == [], "an import against the layers of docs/ARCHITECTURE.md"


@pytest.mark.parametrize("module", CORE)
def test_the_core_never_imports_textual_rich_or_the_tui(module: str) -> None:
    bad = {d for d in GRAPH[module] if _in(d, "textual", "rich", "crisiswatch.tui", "crisiswatch.commands",
                                            "crisiswatch.cli")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", TUI)
def test_the_tui_never_imports_the_cli_or_the_commands(module: str) -> None:
    bad = {d for d in GRAPH[module] if _in(d, "crisiswatch.cli", "crisiswatch.commands")}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_no_screen_imports_the_app_or_another_screen() -> None:
    bad = {}
    for module in SCREENS:
        wrong = {d for d in GRAPH[module] if _screen_edge(module, d)}
        if wrong:
            bad[module] = sorted(wrong)
    assert bad == {}


@pytest.mark.parametrize("module", ["crisiswatch.errors", "crisiswatch.units", "crisiswatch.termsafe",
                                    "crisiswatch.feedwriter", "crisiswatch.store.lists"])
def test_leaf_modules_import_only_the_standard_library(module: str) -> None:
    """Everyone imports these (the feed writer: demo, tests and benchmarks), so they pull nothing in."""
    assert GRAPH[module], f"found no imports in {module} at all"
    assert all(d in sys.stdlib_module_names or d == "__future__" for d in GRAPH[module]), (module, GRAPH[module])
