"""The failure type of the recovery rehearsals."""

from harness.evidence import EvidenceFailure

__all__ = ["RecoveryFailure"]


class RecoveryFailure(EvidenceFailure):
    """A backup, restore or crash rehearsal lost, changed or exposed data, or could not recover."""
