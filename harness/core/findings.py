"""The one failure type of the isolation checks, and the findings it carries.

A check that finds a problem raises :class:`IsolationFailure`, an ``AssertionError`` (so a report
counts it as a failed check, not a crash) carrying ``context=[(title, text)]`` after
pytest-alembic: one section per table and command, holding what a reviewer needs to judge it
without re-running anything: the table, the command, the tenant bound, the SQL tried and the
rows that leaked. Checks collect every problem first and raise once, so one run shows them all.

A :class:`Finding` of a static check is either a failure or **advice**: policy text that looks
weak where behaviour (the cross-tenant probes) is the judge, e.g. a policy scoped through a
helper function. Advice is attached to the passing test as a note, never counted as a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.evidence import EvidenceFailure

__all__ = ["Finding", "IsolationFailure", "advice", "require_no_findings"]


class IsolationFailure(EvidenceFailure):
    """A tenant isolation check failed; ``context`` holds the evidence, section by section."""


@dataclass(frozen=True)
class Finding:
    """One problem of a static check (coverage, posture, bypass): where, what, and the fix."""

    subject: str          # the table, view, function or role it is about
    check: str            # e.g. "rls-forced", "policy:DELETE", "view-security-invoker"
    problem: str
    fix: str = ""
    detail: str = ""      # the catalog text behind it (a policy expression, a grant)
    # advice: a latent weakness the text suggests but behaviour decides (reported, never failed)
    advisory: bool = False

    def title(self) -> str:
        return f"{self.subject}: {self.check}"

    def text(self) -> str:
        lines = [self.problem]
        if self.detail:
            lines.append(f"catalog: {self.detail}")
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


def require_no_findings(findings: Sequence[Finding], what: str) -> None:
    """Raises one :class:`IsolationFailure` listing every finding that is not advice."""
    __tracebackhide__ = True
    findings = [f for f in findings if not f.advisory]
    if findings:
        subjects = sorted({f.subject for f in findings})
        raise IsolationFailure(
            f"{what}: {len(findings)} problem(s) in {', '.join(subjects)}",
            [(f.title(), f.text()) for f in findings])


def advice(findings: Sequence[Finding]) -> list[Finding]:
    """The advisory findings: shown as notes in the packet, never a failure."""
    return [f for f in findings if f.advisory]
