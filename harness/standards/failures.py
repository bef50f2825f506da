"""The failure type of the standards checks: every finding at once, each with its fix."""

from __future__ import annotations

from collections.abc import Sequence

from harness.evidence import EvidenceFailure
from harness.isolation.failures import Finding

__all__ = ["Finding", "StandardsFailure", "require_clean"]


class StandardsFailure(EvidenceFailure):
    """A schema standard, posture rule or integrity property does not hold on the target."""


def require_clean(findings: Sequence[Finding], what: str) -> None:
    """Raises one :class:`StandardsFailure` listing every finding, or returns quietly."""
    __tracebackhide__ = True
    if findings:
        subjects = sorted({f.subject for f in findings})
        raise StandardsFailure(f"{what}: {len(findings)} finding(s) in {', '.join(subjects)}",
                               [(f.title(), f.text()) for f in findings])
