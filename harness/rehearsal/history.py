"""The chain's history: one head, no branches, and every revision says how it is rolled back.

Read through the migration-tool Protocol (``harness.migrations``), so an Alembic chain and an
ordered folder of SQL files are judged alike. A reversible revision needs a rollback note in its
header (a paragraph starting ``Rollback``) and a real down step: its downgrade SQL must do more
than the tool's own bookkeeping. A revision the tool reports as not reversible is a **one-way
door**: its header must say so (``One-way:`` followed by the recovery, e.g. restore from the
pre-release backup); the rehearsal runs it forward only and lists it.
"""

from __future__ import annotations

from harness.migrations import MigrationTool, Revision, bookkeeping_tables
from harness.migrations.notes import note_problems, real_statements
from harness.rehearsal.failures import Finding

__all__ = ["bookkeeping_tables", "history_findings", "one_way_doors", "real_statements"]


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
    return [Finding(rev.id, p.check, p.problem, p.fix) for p in note_problems(tool, rev, bookkeeping)]
