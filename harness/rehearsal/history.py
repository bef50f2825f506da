"""The chain's history: one head, no branches, and every revision says how it is rolled back.

Read through the migration-tool Protocol (``harness.migrations``), so an Alembic chain and an
ordered folder of SQL files are judged alike. A reversible revision needs a rollback note in its
header (a paragraph starting ``Rollback``) and a real down step: its downgrade SQL must do more
than the tool's own bookkeeping. A revision the tool reports as not reversible is a **one-way
door**: its header must say so (``One-way:`` followed by the recovery, e.g. restore from the
pre-release backup); the rehearsal runs it forward only and lists it.
"""

from __future__ import annotations

import re

from harness.migrations import MigrationTool, Revision, bookkeeping_tables
from harness.rehearsal.failures import Finding

__all__ = ["bookkeeping_tables", "history_findings", "one_way_doors", "real_statements"]

# a paragraph of the header: a docstring line, or a SQL comment line ("-- Rollback: ...")
_ROLLBACK = re.compile(r"^\s*(?:--\s*)?Rollback\b\s*:?\s*\S", re.MULTILINE | re.IGNORECASE)
_ONE_WAY = re.compile(r"^\s*(?:--\s*)?One-way:\s*\S", re.MULTILINE)
_NOISE = re.compile(r"^\s*(--.*|begin|commit|start transaction)?\s*;?\s*$", re.IGNORECASE)


def real_statements(step_sql: str, bookkeeping: tuple[str, ...]) -> list[str]:
    """The statements of a step's SQL that are not comments, transaction control or bookkeeping."""
    statements = [s.strip() for s in re.split(r";\s*\n", step_sql)]
    return [s for s in statements
            if s and not all(_NOISE.match(line) for line in s.splitlines())
            and not any(t in s for t in bookkeeping)]


def one_way_doors(tool: MigrationTool) -> list[Revision]:
    return [r for r in tool.revisions() if not r.reversible]


def history_findings(tool: MigrationTool) -> list[Finding]:
    """Every problem of the history: heads, branches, notes and down steps."""
    found: list[Finding] = []
    revisions = tool.revisions()
    heads = tool.heads()
    if len(heads) != 1:
        found.append(Finding("chain", "heads", f"the chain has {len(heads)} heads "
                             f"({', '.join(heads) or 'none'}); it must have exactly one",
                             "fix: merge the branches into one revision, or rebase one onto the other"))
    children: dict[str, list[str]] = {}
    for rev in revisions:
        for parent in rev.parents:
            children.setdefault(parent, []).append(rev.id)
        if len(rev.parents) > 1:
            found.append(Finding(rev.id, "branches", f"merges {', '.join(rev.parents)}: the "
                                 "history branched", "fix: keep the chain linear"))
    for parent, kids in sorted(children.items()):
        if len(kids) > 1:
            found.append(Finding(parent, "branches", f"has {len(kids)} children ({', '.join(kids)}): "
                                 "the history branches here", "fix: rebase one child onto the other"))
    bookkeeping = bookkeeping_tables(tool)
    for rev in revisions:
        found.extend(_note_findings(tool, rev, bookkeeping))
    return found


def _note_findings(tool: MigrationTool, rev: Revision, bookkeeping: tuple[str, ...]) -> list[Finding]:
    where = str(rev.path.name) if rev.path else rev.id
    if not rev.reversible:
        if not _ONE_WAY.search(rev.note):
            return [Finding(rev.id, "one-way-note", f"{where} is not reversible but its header has "
                            "no 'One-way:' paragraph naming the recovery",
                            "fix: add 'One-way: <why, and how to recover (e.g. restore the "
                            "pre-release backup)>' to its docstring")]
        return []
    found = []
    if not _ROLLBACK.search(rev.note):
        found.append(Finding(rev.id, "rollback-note", f"{where} has no rollback note",
                             "fix: add a paragraph 'Rollback: <what downgrade() undoes, what data "
                             "it loses, what to do first>' to its docstring, or declare it "
                             "'One-way: <recovery>'"))
    try:
        down = tool.step_sql(rev, "downgrade")
    except Exception as exc:  # e.g. a downgrade() that raises NotImplementedError
        down, error = "", f"{type(exc).__name__}: {exc}"
    else:
        error = ""
    if down is not None and not real_statements(down, bookkeeping):
        found.append(Finding(rev.id, "downgrade", f"{where} has no real down step: its downgrade "
                             f"does nothing but the tool's bookkeeping {error}".rstrip(),
                             "fix: write a downgrade() that undoes the upgrade, or declare the "
                             "revision 'One-way: <recovery>'"))
    return found
