"""Rollback notes: how each revision says it is rolled back, whatever tool wrote it.

A reversible revision needs a rollback note in its header (a paragraph starting ``Rollback``) and
a real down step: its downgrade SQL must do more than the tool's own bookkeeping. A revision the
tool reports as not reversible is a **one-way door**: its header must say so (``One-way:``
followed by the recovery, e.g. restore from the pre-release backup). The header is an Alembic
module's docstring, or the leading comment block of a SQL file::

    -- Adds invitations (account_id, token, expires_at).
    -- Rollback: the down section drops the table; pending invitations are lost, so export them
    -- first.

    -- One-way: drops the legacy billing columns; restore the pre-release backup to go back.

Both the rehearsal's history item and the ``migration-rollback-notes`` document check read
revisions through the migration-tool Protocol with :func:`note_problems`, so an Alembic chain and
a folder of SQL files are judged alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.migrations import MigrationTool, Revision

__all__ = ["NoteProblem", "note_problems", "real_statements"]

# a paragraph of the header: a docstring line, or a SQL comment line ("-- Rollback: ...")
_ROLLBACK = re.compile(r"^\s*(?:--\s*)?Rollback\b\s*:?\s*\S", re.MULTILINE | re.IGNORECASE)
_ONE_WAY = re.compile(r"^\s*(?:--\s*)?One-way:\s*\S", re.MULTILINE)
_NOISE = re.compile(r"^\s*(--.*|begin|commit|start transaction)?\s*;?\s*$", re.IGNORECASE)
_WHERE = "its header (the module docstring, or a SQL file's leading '-- ' comment block)"


@dataclass(frozen=True)
class NoteProblem:
    check: str        # one-way-note | rollback-note | downgrade
    problem: str
    fix: str


def real_statements(step_sql: str, bookkeeping: tuple[str, ...]) -> list[str]:
    """The statements of a step's SQL that are not comments, transaction control or bookkeeping."""
    statements = [s.strip() for s in re.split(r";\s*\n", step_sql)]
    return [s for s in statements
            if s and not all(_NOISE.match(line) for line in s.splitlines())
            and not any(t in s for t in bookkeeping)]


def note_problems(tool: MigrationTool, rev: Revision, bookkeeping: tuple[str, ...]) -> list[NoteProblem]:
    """What is wrong with how ``rev`` says it is rolled back (empty when nothing is)."""
    where = str(rev.path.name) if rev.path else rev.id
    if not rev.reversible:
        if not _ONE_WAY.search(rev.note):
            return [NoteProblem("one-way-note", f"{where} is not reversible but its header has no "
                                "'One-way:' paragraph naming the recovery",
                                "fix: add 'One-way: <why, and how to recover (e.g. restore the "
                                f"pre-release backup)>' to {_WHERE}")]
        return []
    found = []
    if not _ROLLBACK.search(rev.note):
        found.append(NoteProblem("rollback-note", f"{where} has no rollback note",
                                 "fix: add a paragraph 'Rollback: <what the down step undoes, what "
                                 f"data it loses, what to do first>' to {_WHERE}, or declare it "
                                 "'One-way: <recovery>'"))
    try:
        down = tool.step_sql(rev, "downgrade")
    except Exception as exc:  # e.g. a downgrade() that raises NotImplementedError
        down, error = "", f"{type(exc).__name__}: {exc}"
    else:
        error = ""
    if down is not None and not real_statements(down, bookkeeping):
        found.append(NoteProblem("downgrade", f"{where} has no real down step: its downgrade does "
                                 f"nothing but the tool's bookkeeping {error}".rstrip(),
                                 "fix: write a down step that undoes the upgrade, or declare the "
                                 "revision 'One-way: <recovery>'"))
    return found
