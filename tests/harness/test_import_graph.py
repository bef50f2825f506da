"""The harness's modules import each other in one direction only, and never the code that uses
them: no two modules reach each other through imports (a circle is what function-level
imports used to hide), and ``harness`` imports neither ``scenarios`` nor ``reference_impl``
(``scenarios -> harness <- reference_impl``).

The graph is read from the source with :mod:`ast`, nothing imported: module-level and
function-level imports both count (both run, and both tie the two modules together), imports
under ``if TYPE_CHECKING:`` do not (they never run). A package's ``__init__`` running before its
submodules is Python's doing, not an edge a module chose, so a submodule's import of its own
package (``harness.backends.docker`` reading ``ServerState`` from ``harness.backends``) is not
counted either: it runs first anyway.
"""

from __future__ import annotations

import ast
from pathlib import Path

import harness

HARNESS = Path(harness.__file__).parent


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (whose folder is ``root``) by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The dotted names a module imports anywhere but under ``if TYPE_CHECKING:``; for
    ``from a import b`` both ``a`` and ``a.b`` (the caller keeps the one that is a module)."""
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], set[str]]:
    """Edges between ``package``'s own modules, and every top-level package it imports."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    outside: set[str] = set()
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = imported_names(tree, name, path.name == "__init__.py")
        outside.update(n.split(".")[0] for n in imported if n)
        edges = set()
        for target in imported:
            if target in modules:
                edges.add(target)
        # ``from pkg.mod import fn`` names pkg.mod.fn (not a module): the edge is to pkg.mod;
        # ``from pkg import mod`` names pkg and pkg.mod: the edge is to pkg.mod alone
        for target in list(edges):
            if any(other.startswith(target + ".") for other in edges):
                edges.discard(target)
        # a module's own packages run before it whatever it imports: an edge to them adds nothing
        graph[name] = {t for t in edges if t != name and not name.startswith(t + ".")}
    return graph, outside


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan), as a path that
    starts and ends at the same module; empty when the graph has none."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle_in(graph, group) for group in groups]


def _circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no circle in a strongly connected group {sorted(group)}")


def test_no_two_harness_modules_import_each_other():
    graph, _ = import_graph(HARNESS, "harness")
    assert len(graph) > 50 and graph["harness.lifecycle"]  # the graph was really read
    found = cycles(graph)
    assert not found, "import circles in harness: " + "; ".join(" -> ".join(c) for c in found)


def test_the_harness_imports_neither_scenarios_nor_the_reference_implementation():
    _, outside = import_graph(HARNESS, "harness")
    assert "psycopg" in outside  # the outside imports were really read
    assert not outside & {"scenarios", "reference_impl"}, sorted(outside & {"scenarios", "reference_impl"})


def test_a_planted_circle_is_found_and_named(tmp_path):
    """The same functions on a small package: a circle through a function-level import is
    found and named; one closed only under TYPE_CHECKING is not a circle."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "floor.py").write_text("import json\n")
    (pkg / "a.py").write_text("from pkg.sub import b\nfrom pkg import floor\n")
    (pkg / "sub" / "b.py").write_text("from pkg.sub import x\n"
                                      "def f():\n    from ..c import g\n    return g\n")
    (pkg / "c.py").write_text("def g():\n    import pkg.a\n    return pkg.a\n")
    (pkg / "typed.py").write_text("from typing import TYPE_CHECKING\nfrom pkg import floor\n"
                                  "if TYPE_CHECKING:\n    from pkg.a import x\n")
    (pkg / "floor2.py").write_text("from typing import TYPE_CHECKING\n"
                                   "if TYPE_CHECKING:\n    from pkg import typed\n")
    graph, outside = import_graph(pkg, "pkg")
    assert graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.typed"] == {"pkg.floor"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
    assert {"json", "typing", "pkg"} <= outside

    (pkg / "c.py").write_text("def g():\n    return 1\n")
    assert cycles(import_graph(pkg, "pkg")[0]) == []
