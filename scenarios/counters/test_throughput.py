"""Consume throughput beside pgbench's hot-row UPDATE rate (S10.entitlement-counter-accuracy)."""

from __future__ import annotations

import pytest

from harness.counters.throughput import consume_rate, pgbench_hot_row
from harness.evidence import attach_json, record_metric
from scenarios.counters.conftest import FIXTURES, feature_name

# judged by time or load: runs after the parallel part, with nothing else running
pytestmark = pytest.mark.alone

# The goal: consume at the most workers >= half of a floor's rate. Information only, recorded
# without a threshold: the reference measures about 0.05 of pgbench's hot-row UPDATE on a 2-core
# box, and issue 21 asks to compare with the matching floor (the same SQL function from pgbench,
# or one statement) before any ratio decides. A threshold here would turn S10 NO-GO on a figure
# whose floor is still being chosen; issue 21 brings the threshold back with that floor.
GOAL_RATIO = 0.5


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S1")
def test_consumes_under_load_stay_exact_and_fast(counters, counter_workspace, counter_profile,
                                                 module_database):
    """At 1, 8 and 32 concurrent workers for a few seconds each, every granted consume is
    counted exactly once (the stored counter equals the grants, none denied under an endless
    quota). Granted consumes per second are recorded beside pgbench's rate for an UPDATE of one
    hot row on the same server, and the ratio at the most workers beside the goal of 0.5
    (information only until issue 21 fixes the floor it compares with)."""
    seconds = counter_profile.throughput_seconds   # each point's cap: it stops once stable
    points, problems = [], []
    for workers in counter_profile.throughput_workers:
        rate = consume_rate(counters, counter_workspace, feature_name("rate", workers), workers,
                            seconds, tolerance=counter_profile.throughput_tolerance)
        pgbench_seconds = max(1, round(rate.seconds))   # as long as the consumes ran
        tps = pgbench_hot_row(module_database.owner, workers, pgbench_seconds,
                              FIXTURES / "pgbench_hot_row.sql")
        points.append({"workers": workers, "consume_per_s": round(rate.per_second, 1),
                       "pgbench_hot_row_tps": round(tps, 1), "ratio": round(rate.per_second / tps, 3),
                       "granted": rate.granted, "denied": rate.denied, "stored": rate.stored,
                       "consume_seconds": round(rate.seconds, 2), "stopped": rate.stopped,
                       "pgbench_seconds": pgbench_seconds})
        record_metric(f"consume_per_s_{workers}w", rate.per_second, "1/s")
        record_metric(f"pgbench_hot_row_tps_{workers}c", tps, "1/s")
        if rate.stored != rate.granted or rate.denied or not rate.granted:
            problems.append(points[-1])
    top = points[-1]
    record_metric(f"consume_to_pgbench_ratio_{top['workers']}w", top["ratio"], "")
    attach_json({"cap_seconds_per_point": seconds, "tolerance": counter_profile.throughput_tolerance,
                 "goal_ratio (information only)": GOAL_RATIO, "points": points},
                "consume throughput beside pgbench")
    assert not problems, f"the counter drifted from the grants under load: {problems}"
