"""The failure type of the isolation checks.

A check that finds a problem raises :class:`IsolationFailure` carrying one section per table and
command: the table, the command, the tenant bound, the SQL tried and the rows that leaked.
Static checks raise their findings through the core's one way (:func:`require_no_findings`).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core import findings
from harness.core.findings import Finding
from harness.evidence import EvidenceFailure

__all__ = ["IsolationFailure", "require_no_findings"]


class IsolationFailure(EvidenceFailure):
    """A tenant isolation check failed; ``context`` holds the evidence, section by section."""


def require_no_findings(found: Sequence[Finding], what: str) -> None:
    """Raises one :class:`IsolationFailure` listing every finding that is not advice."""
    __tracebackhide__ = True
    findings.require_no_findings(found, what, IsolationFailure)
