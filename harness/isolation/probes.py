"""What one matrix case records, and how a statement's outcome is judged.

A :class:`Probe` is one statement run as one tenant: the table, the command, the SQL, what was
expected, what happened, and the rows that leaked (at most :data:`SHOWN_ROWS`). An
:class:`Outcome` is what the statement did (rows, row count, or the error); a refusal counts
only when it came from the table itself (42501 on that table) or is a SQLSTATE the spec lists
under ``tenancy.refusals``. :func:`require_passed` turns the failed probes into one
:class:`IsolationFailure` with the evidence of each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from harness.core.catalog import Table
from harness.isolation.failures import IsolationFailure

__all__ = ["SHOWN_ROWS", "Judge", "Outcome", "Probe", "require_passed"]

SHOWN_ROWS = 20


@dataclass(frozen=True)
class Probe:
    table: str
    command: str
    case: str
    tenant: str
    sql: str
    expected: str
    observed: str
    passed: bool
    rows: tuple[dict[str, Any], ...] = ()

    def evidence(self) -> tuple[str, str]:
        lines = [f"table: {self.table}", f"command: {self.command}", f"tenant bound: {self.tenant}",
                 f"sql: {self.sql}", f"expected: {self.expected}", f"observed: {self.observed}"]
        if self.rows:
            lines.append(f"rows ({len(self.rows)} shown):")
            lines.extend("  " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in self.rows)
        return f"{self.table} {self.command} [{self.case}]", "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [{k: str(v) for k, v in row.items()} for row in self.rows]
        return data


def require_passed(probes: Sequence[Probe], what: str) -> None:
    """Raises one :class:`IsolationFailure` with the evidence of every failed probe."""
    __tracebackhide__ = True
    failed = [p for p in probes if not p.passed]
    if failed:
        tables = sorted({p.table for p in failed})
        raise IsolationFailure(f"{what}: {len(failed)} of {len(probes)} probes failed on "
                               f"{', '.join(tables)}", [p.evidence() for p in failed])


@dataclass(frozen=True)
class Outcome:
    rowcount: int
    rows: list[tuple]
    error: psycopg.Error | None
    setup: tuple | None = None      # the first row the setup statement returned

    def describe(self) -> str:
        if self.error is not None:
            return f"error {self.error.sqlstate}: {str(self.error).splitlines()[0]}"
        return f"{self.rowcount} row(s)"

    def denied(self, t: Table) -> bool:
        """Refused by the privilege system on ``t`` itself."""
        return self._message(t, "permission denied for table {}")

    def rejected(self, t: Table) -> bool:
        """Refused by ``t``'s own row-level security (not by a side effect on another table)."""
        return self._message(t, 'violates row-level security policy for table "{}"') or self.denied(t)

    def _message(self, t: Table, shape: str) -> bool:
        if self.error is None or self.error.sqlstate != "42501":
            return False
        text = str(self.error)
        if not any(known in text for known in ("permission denied for", "row-level security policy")):
            return True  # a server answering in another language: the SQLSTATE is all there is
        return shape.format(t.name) in text

    def refused(self, t: Table, refusals: Mapping[str, str]) -> bool:
        """Refused with nothing changed: 42501 on ``t`` itself, or a listed refusal SQLSTATE."""
        return self.rejected(t) or (self.error is not None and self.error.sqlstate in refusals)


Judge = Callable[[Outcome], bool]
