"""Python source read without running it: a parse safe across threads, and the project modules
a set of files imports.

CPython 3.11's ``ast.parse`` fails at random when two threads parse at once ("SystemError: AST
constructor recursion depth mismatch", python/cpython gh-106905), and the harness parses in
threads (``harness gate --workers N`` builds packets side by side): every parse goes through
:func:`parse`, one at a time.

:func:`reached_sources` serves the template cache's key: a migration that imports a helper of
the project (``from reference_impl.rls import secure_tenant_table``) builds a schema shaped by
that helper too, so the helper's source must be part of what the key hashes.
"""

from __future__ import annotations

import ast
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

__all__ = ["parse", "reached_sources"]

_PARSING = threading.Lock()


def parse(source: str, filename: str) -> ast.Module:
    """``ast.parse``, one thread at a time (gh-106905)."""
    with _PARSING:
        return ast.parse(source, filename=filename)


def reached_sources(files: Iterable[Path]) -> list[Path]:
    """The project's Python files that ``files`` import, at any depth, found without importing
    anything: every module whose source is outside the standard library and the installed
    packages (those change only with a version, not with an edit). Sorted; ``files`` not in it.
    A file that cannot be read or parsed imports nothing here."""
    given = {p.resolve() for p in files}
    todo = [(p, _package_of(p)) for p in given if p.suffix == ".py"]
    seen: set[Path] = set()
    while todo:
        path, package = todo.pop()
        for name in _imported(path, package):
            found = _source_of(name)
            if found is None or found in seen or found in given:
                continue
            seen.add(found)
            todo.append((found, name if found.name == "__init__.py" else name.rpartition(".")[0]))
    return sorted(seen)


def _package_of(path: Path) -> str:
    """The dotted package a file sits in, from the ``__init__.py`` files above it ("" if none)."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _imported(path: Path, package: str) -> Iterator[str]:
    """Every module name an ``import`` in ``path`` names (inside functions too), each package on
    the way, and ``from m import x`` also as ``m.x`` (x may be a submodule)."""
    try:
        tree = parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[:len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            if base:
                names.append(base)
            names += [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            yield from (".".join(parts[:i]) for i in range(1, len(parts) + 1))


@cache
def _outside_project() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple({Path(paths[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _source_of(name: str) -> Path | None:
    """The source file of module ``name`` when it belongs to the project, found by the import
    system's finders without importing anything (not even its parent packages)."""
    if name in sys.builtin_module_names:
        return None
    path = None
    for part_index, _ in enumerate(name.split(".")):
        dotted = ".".join(name.split(".")[:part_index + 1])
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            try:
                spec = find(dotted, path)
            except (ImportError, ValueError, AttributeError):
                spec = None
            if spec is not None:
                break
        if spec is None:
            return None
        path = list(spec.submodule_search_locations or [])
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py"):
        return None
    source = Path(origin).resolve()
    if any(source.is_relative_to(root) for root in _outside_project()):
        return None
    return source
