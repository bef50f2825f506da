"""Document checks: evidence that is a file in the target repository, checked by the harness.

Some gate evidence is not a test but a document a person keeps: the risk register, the rollback
notes of every migration. A ``document`` item in the catalog names a check registered here by
name; the check reads the file relative to the target's root and says ``passed``, ``failed``
(with every problem found) or ``missing`` (nothing to check). A broken document is the target's
problem, so it never raises: it fails the item, and the packet shows why.

Checks:

- ``risk-register``: a YAML file ``{risks: [...]}`` where every risk has ``id``, ``title``,
  ``owner``, ``due`` (an ISO date) and ``status`` (open, mitigating, mitigated, closed,
  accepted); ids are unique; no open or mitigating risk is past its due date; and the register
  is not empty (an empty register proves nobody looked).
- ``migration-rollback-notes``: for a SQL folder (or any tool but Alembic), every revision the
  tool lists says how it is rolled back in its header (``harness.migrations.notes``: a leading
  ``-- Rollback: ...`` comment and a real down section, or ``-- One-way: <recovery>``); for
  Alembic, every migration under ``<script_location>/versions``
  (a ``.py`` file assigning ``revision``; an item's ``path`` names another folder, relative
  to the script location) has a ``downgrade()`` with a real body (not only
  ``pass``, ``...``, a docstring or ``raise NotImplementedError``) and a module or
  ``downgrade()`` docstring with a "Rollback" note saying what rolling back costs.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError
from harness.pysource import parse

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["CHECKS", "DocumentCheck", "DocumentContext", "DocumentResult", "run_check"]

RISK_STATUSES = ("open", "mitigating", "mitigated", "closed", "accepted")
OPEN_STATUSES = ("open", "mitigating")
_RISK_FIELDS = ("id", "title", "owner", "due", "status")
_ROLLBACK_NOTE = re.compile(r"\brollback\b", re.IGNORECASE)
@dataclass(frozen=True)
class DocumentContext:
    """Where documents are looked for: the target's root and its migrations folder."""

    root: Path
    script_location: Path | None
    today: dt.date
    # the spec: a tool other than Alembic (a folder of SQL files) is read through its own
    # migration tool; None: the Alembic files under script_location
    target: TargetSpec | None = None


@dataclass(frozen=True)
class DocumentResult:
    status: str                    # passed | failed | missing
    subject: str                   # what was checked, relative to the target's root
    problems: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()  # the files looked at


@dataclass(frozen=True)
class DocumentCheck:
    name: str
    needs_path: bool
    run: Callable[[DocumentContext, str | None], DocumentResult]


def run_check(name: str, context: DocumentContext, path: str | None) -> DocumentResult:
    try:
        check = CHECKS[name]
    except KeyError:
        raise ConfigError("gates.yaml", "check", f"{name!r} is not a known document check",
                          f"use one of {', '.join(sorted(CHECKS))}") from None
    return check.run(context, path)


def _risk_register(context: DocumentContext, path: str | None) -> DocumentResult:
    from harness.gates.yamlsource import line_of, parse_date, read_yaml

    subject = path or "risks.yaml"
    file = context.root / subject
    if not file.is_file():
        return DocumentResult("missing", subject, (f"{subject} not found in {context.root}",))
    try:
        raw = read_yaml(file, fix="")
    except ConfigError as exc:
        return DocumentResult("failed", subject, (exc.one_line(),), (subject,))
    risks = raw.get("risks") if isinstance(raw, dict) else None
    if not isinstance(risks, list):
        return DocumentResult("failed", subject, ("must be a mapping with a 'risks' list",), (subject,))
    if not risks:
        return DocumentResult("failed", subject, ("lists no risks",), (subject,))
    problems: list[str] = []
    seen: set[str] = set()
    for index, risk in enumerate(risks):
        line = line_of(risks, index)
        where = f"line {line}: risks[{index}]" if line else f"risks[{index}]"
        if not isinstance(risk, dict):
            problems.append(f"{where}: must be a mapping with {', '.join(_RISK_FIELDS)}")
            continue
        label = f"{where} ({risk.get('id', '?')})"
        for key in _RISK_FIELDS:
            if key not in risk or risk[key] in (None, ""):
                problems.append(f"{label}: has no {key}")
        risk_id = str(risk.get("id", ""))
        if risk_id and risk_id in seen:
            problems.append(f"{label}: id {risk_id} is listed twice")
        seen.add(risk_id)
        status = risk.get("status")
        if status is not None and status not in RISK_STATUSES:
            problems.append(f"{label}: status {status!r} is not one of {', '.join(RISK_STATUSES)}")
        due = parse_date(risk.get("due"))
        if risk.get("due") not in (None, "") and due is None:
            problems.append(f"{label}: due {risk.get('due')!r} is not an ISO date (YYYY-MM-DD)")
        if due is not None and status in OPEN_STATUSES and due < context.today:
            problems.append(f"{label}: is {status} and past due (due {due.isoformat()})")
    return DocumentResult("failed" if problems else "passed", subject, tuple(problems), (subject,))

    return None


def _rollback_notes(context: DocumentContext, path: str | None) -> DocumentResult:
    if context.target is not None and context.target.migrations.tool != "alembic":
        return _tool_rollback_notes(context, context.target)
    if context.script_location is None:
        return DocumentResult("missing", "migrations",
                              ("the target spec names no migrations.script_location",))
    versions = context.script_location / (path or "versions")
    subject = _relative(versions, context.root)
    files = sorted(p for p in versions.rglob("*.py") if p.name != "__init__.py") if versions.is_dir() else []
    problems: list[str] = []
    checked: list[str] = []
    for file in files:
        name = _relative(file, context.root)
        try:
            source = file.read_text(encoding="utf-8")
            tree = parse(source, str(file))   # one thread at a time (gh-106905)
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            problems.append(f"{name}: cannot be parsed ({exc})")
            checked.append(name)
            continue
        if not _assigns(tree, "revision"):
            continue  # a helper module, not a migration
        checked.append(name)
        problems.extend(f"{name}: {p}" for p in _migration_problems(tree))
    if not checked:
        return DocumentResult("missing", subject, (f"no Alembic migrations found under {subject}",))
    return DocumentResult("failed" if problems else "passed", subject, tuple(problems), tuple(checked))


def _tool_rollback_notes(context: DocumentContext, target: TargetSpec) -> DocumentResult:
    """Every revision of a non-Alembic tool (SQL files: the leading comment block is the note)."""
    from harness.migrations import bookkeeping_tables, tool_for
    from harness.migrations.notes import note_problems

    subject = _relative(target.migrations.script_location, context.root)
    try:
        tool = tool_for(target)
        revisions = tool.revisions()
    except Exception as exc:  # a folder the tool cannot order is the target's problem
        return DocumentResult("failed", subject, (f"{type(exc).__name__}: {exc}",))
    if not revisions:
        return DocumentResult("missing", subject, (f"no migrations found under {subject}",))
    problems = [f"{_relative(r.path, context.root) if r.path else r.id}: {p.problem} ({p.fix})"
                for r in revisions for p in note_problems(tool, r, bookkeeping_tables(tool))]
    checked = tuple(_relative(r.path, context.root) if r.path else r.id for r in revisions)
    return DocumentResult("failed" if problems else "passed", subject, tuple(problems), checked)


def _migration_problems(tree: ast.Module) -> list[str]:
    downgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "downgrade"), None)
    if downgrade is None:
        return ["has no downgrade()"]
    problems = []
    body = downgrade.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body or all(_is_placeholder(stmt) for stmt in body):
        problems.append("downgrade() has no real body (only pass, ... or NotImplementedError)")
    notes = (ast.get_docstring(tree) or "") + "\n" + (ast.get_docstring(downgrade) or "")
    if not _ROLLBACK_NOTE.search(notes):
        problems.append("has no 'Rollback' note in the module or downgrade() docstring")
    return problems


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # '...' or a stray string
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _assigns(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


CHECKS: dict[str, DocumentCheck] = {
    check.name: check for check in (
        DocumentCheck("risk-register", needs_path=True, run=_risk_register),
        DocumentCheck("migration-rollback-notes", needs_path=False, run=_rollback_notes),
    )
}
