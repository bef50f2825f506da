"""The failure type of the load suite."""

from harness.evidence import EvidenceFailure

__all__ = ["LoadFailure"]


class LoadFailure(EvidenceFailure):
    """A load SLO was missed, regressed against the baseline, or could not be measured."""
