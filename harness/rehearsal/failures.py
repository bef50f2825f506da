"""The one failure type of the migration rehearsal, and the findings it carries.

A rehearsal check collects every problem first (one :class:`Finding` per revision and problem:
a snapshot diff, rows that changed, a lock held past the budget) and raises one
:class:`RehearsalFailure` whose ``context`` holds a section per finding, so a reviewer sees the
revision, the diff, the checksums and the statement without re-running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.evidence import EvidenceFailure

__all__ = ["Finding", "RehearsalFailure", "require_no_findings"]


class RehearsalFailure(EvidenceFailure):
    """A migration rehearsal check failed; ``context`` holds the evidence, section by section."""


@dataclass(frozen=True)
class Finding:
    revision: str        # the revision it is about ("chain" for the whole history)
    check: str           # e.g. "round-trip:down", "data", "posture", "lint:<rule>", "lock-budget"
    problem: str
    detail: str = ""     # the diff, the rows, the statement

    def title(self) -> str:
        return f"{self.revision}: {self.check}"

    def text(self) -> str:
        return self.problem + (f"\n\n{self.detail}" if self.detail else "")


def require_no_findings(findings: Sequence[Finding], what: str) -> None:
    """Raises one :class:`RehearsalFailure` listing every finding, or returns quietly."""
    __tracebackhide__ = True
    if findings:
        revisions = sorted({f.revision for f in findings})
        raise RehearsalFailure(f"{what}: {len(findings)} problem(s) in {', '.join(revisions)}",
                               [(f.title(), f.text()) for f in findings])
