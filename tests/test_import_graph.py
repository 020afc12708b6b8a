"""The package's import graph: layers import downwards.

Two graphs are read from the source with :mod:`ast` (nothing is imported):

* the *eager* graph — imports executed when a module is imported (module level, not
  under ``if TYPE_CHECKING:``) — must have no cycle at all;
* the *full* graph — also imports inside functions and under ``TYPE_CHECKING`` — may
  only have the cycles listed in :data:`KNOWN_CYCLES`, each a piece of known debt. A
  new cycle fails the test; a listed one that disappears fails it too, so the list
  shrinks as the debt is paid.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

KNOWN_CYCLES: dict[frozenset[str], str] = {
    frozenset(
        {
            "analysis.answers",
            "analysis.basis",
            "analysis.compare",
            "observations.check",
            "observations.mapping",
            "observations.measure",
            "report.figures",
            "report.fit",
            "report.html",
            "results.arrays",
            "results.digest",
            "results.folder",
            "results.reduce",
            "results.result",
            "results.stored",
        }
    ): "Result's convenience methods (summary, answers, plots, report) import the "
    "analysis and report layers inside the methods; the results modules share "
    "SERIES/Result types both ways (the observations modules join only through "
    "the report's fit section, which Result.report reaches)",
    frozenset(
        {"engine.compile", "engine.conscription", "engine.pricing_compile"}
    ): "the plan compiler calls the conscription and pricing compilers, which "
    "import its plan types lazily",
    frozenset({"analysis.calibration.figures", "analysis.calibration.outputs"}): "the "
    "calibration's figures name CalibrationResult for type checking only",
    frozenset({"explore.app", "explore.page"}): "the page layout and the app's "
    "callbacks refer to each other lazily",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "forcegen").rglob("*.py"):
        parts = path.relative_to(SRC / "forcegen").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.Module, *, eager: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not eager:
            stack.extend(ast.iter_child_nodes(node))
        elif isinstance(node, ast.If):
            test = node.test
            checking = isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            if not checking:
                stack.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                stack.extend(handler.body)


def _graph(*, eager: bool) -> dict[str, set[str]]:
    modules = _modules()

    def resolve(dotted: str) -> str | None:
        name = dotted.removeprefix("forcegen").removeprefix(".")
        while name not in modules:
            if "." not in name:
                return "" if name == "" else None
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), eager=eager):
            if isinstance(node, ast.ImportFrom):
                if not (node.module or "").startswith("forcegen") or node.level:
                    continue
                targets = [resolve(f"{node.module}.{a.name}") for a in node.names]
            else:
                targets = [resolve(a.name) for a in node.names if a.name.startswith("forcegen")]
            graph[module] |= {t for t in targets if t is not None and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_the_package() -> None:
    graph = _graph(eager=False)
    assert "sim" in graph
    assert "engine.step" in graph
    assert "results.result" in graph["sim"], "sim imports Result at module level"
    assert "engine.step" in _graph(eager=True)["results.result"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset({"a", "b", "c"})}
    assert _cycles({"a": {"b"}, "b": set()}) == set()


def test_no_module_level_import_cycle() -> None:
    assert _cycles(_graph(eager=True)) == set()


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("distributed", "sim"),
        ("results.summary", "results.result"),
        ("preflight", "sim"),
        ("cli.run_cmds", "cli"),
        ("cli.run_cmds", "cli.report_cmds"),
    ],
)
def test_a_lower_layer_never_imports_its_caller(low: str, high: str) -> None:
    # These pairs were cycles (through TYPE_CHECKING and function-level imports); the
    # lower module now names what it needs as a Protocol.
    assert high not in _graph(eager=False)[low]


def test_only_the_known_cycles_remain() -> None:
    assert _cycles(_graph(eager=False)) == set(KNOWN_CYCLES), (
        "the import cycles changed: new ones must be removed, and paid-off ones "
        "deleted from KNOWN_CYCLES"
    )
