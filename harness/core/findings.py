"""Findings, and the one way every family raises them as a failure.

A check collects every problem first, one :class:`Finding` each (the object it is about, the
check, the problem, the fix, the catalog text behind it), and :func:`require_no_findings` raises
them at once as the family's failure type (a subclass of
:class:`~harness.evidence.EvidenceFailure`, an ``AssertionError``: a report counts it as a failed
check, not a crash) with ``context=[(title, text)]``: one section per finding, holding what a
reviewer needs to judge it without re-running anything. One run shows them all.

A finding is either a failure or **advice**: text that looks weak where behaviour is the judge
(e.g. a policy scoped through a helper function, where the cross-tenant probes decide). Advice is
attached to the passing test as a note, never counted as a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.evidence import EvidenceFailure

__all__ = ["Finding", "advice", "require_no_findings"]


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


def require_no_findings(findings: Sequence[Finding], what: str,
                        failure: type[EvidenceFailure] = EvidenceFailure, noun: str = "problem") -> None:
    """Raises one ``failure`` (the family's type) listing every finding that is not advice."""
    __tracebackhide__ = True
    findings = [f for f in findings if not f.advisory]
    if findings:
        subjects = sorted({f.subject for f in findings})
        raise failure(f"{what}: {len(findings)} {noun}(s) in {', '.join(subjects)}",
                      [(f.title(), f.text()) for f in findings])


def advice(findings: Sequence[Finding]) -> list[Finding]:
    """The advisory findings: shown as notes in the packet, never a failure."""
    return [f for f in findings if f.advisory]
