"""The load suite's baseline: ``HARNESS_LOAD_BASELINE`` names a previous packet (its folder or
its ``packet.json``); each load metric is recorded under a name unique across the suite
(``"GET /v1/work-items p95_ms"``), so the same name in the baseline is the same measurement of
the last release. The reading itself is :mod:`harness.baselines`, shared with retrieval.
"""

from __future__ import annotations

import os

from harness.baselines import baseline_metrics as _metrics

__all__ = ["ENV", "baseline_metrics"]

ENV = "HARNESS_LOAD_BASELINE"


def baseline_metrics(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Metric name -> value from the baseline packet; ``{}`` when none is named."""
    return _metrics(ENV, path)
