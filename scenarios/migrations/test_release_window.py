"""S11.rollback-rehearsal: the whole chain upgrades and rolls back at volume within the window.

Reads the session's live-load rehearsal: the sum of every upgrade and every downgrade at the
profile's volume (``ga`` is launch-sized, ``ci`` runs on every change) is recorded as a metric
against the profile's release window, with each revision's up and down time as evidence.
"""

from __future__ import annotations

import pytest

from harness.evidence import attach_json, record_metric
from harness.rehearsal import require_no_findings
from harness.rehearsal.failures import Finding

# judged by time or load: runs after the parallel part, with nothing else running
pytestmark = pytest.mark.alone


@pytest.mark.evidence("S11.rollback-rehearsal", story="F8-E3-S1")
def test_whole_chain_upgrade_and_rollback_fit_the_release_window(live_rehearsal, rehearsal_config):
    """Every revision upgrades and rolls back at volume, and the total fits the release window."""
    report, window = live_rehearsal, rehearsal_config.profile.release_window_s
    per_revision: dict[str, dict] = {}
    for step in report.steps:
        per_revision.setdefault(step.revision, {})[f"{step.direction}_s"] = round(step.seconds, 3)
    attach_json({"profile": report.profile, "rows seeded": report.rows_seeded,
                 "per revision": per_revision, "not rolled back (one-way doors)": report.not_rolled_back,
                 "seeding s (not counted)": round(report.seed_seconds, 2)}, "migration timings")
    total = report.chain_seconds()
    record_metric("rollback_rehearsal.chain_seconds", total, "s", threshold=window, comparison="<=")
    failed = [Finding(s.revision, f"{s.direction}-under-load", s.error) for s in report.steps if s.error]
    if not any(s.direction == "downgrade" for s in report.steps):
        failed.append(Finding("chain", "no-down-steps", "no revision was rolled back (one-way "
                              f"doors: {', '.join(report.not_rolled_back) or 'none'}): the rollback "
                              "half of the rehearsal did not run, so its time proves nothing",
                              "fix: give the revisions down steps"))
    if total > window:
        failed.append(Finding("chain", "release-window", f"upgrade and rollback took {total:.1f} s, "
                              f"over the {window:g} s release window"))
    require_no_findings(failed, "release window")
