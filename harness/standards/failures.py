"""The failure type of the standards checks: every finding at once, each with its fix."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.findings import Finding, require_no_findings
from harness.evidence import EvidenceFailure

__all__ = ["Finding", "StandardsFailure", "require_clean"]


class StandardsFailure(EvidenceFailure):
    """A schema standard, posture rule or integrity property does not hold on the target."""


def require_clean(findings: Sequence[Finding], what: str) -> None:
    """Raises one :class:`StandardsFailure` listing every finding, or returns quietly."""
    __tracebackhide__ = True
    require_no_findings(findings, what, StandardsFailure, noun="finding")
