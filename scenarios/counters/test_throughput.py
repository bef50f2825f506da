"""Consume throughput beside its floor and pgbench's hot-row UPDATE rate (S10.entitlement-counter-accuracy)."""

from __future__ import annotations

import pytest

from harness.counters.throughput import FLOOR, consume_rate, floor_rate, pgbench_hot_row
from harness.evidence import attach_json, record_metric
from scenarios.counters.conftest import FIXTURES, feature_name

# judged by time or load: runs after the parallel part, with nothing else running
pytestmark = [pytest.mark.alone, pytest.mark.slow]   # slow: seconds of measured load per point

# At the most workers a consume must reach half the rate of its floor: the cheapest correct
# consume (one statement) sent the same way, from the same client, in the same run
# (harness.counters.throughput.FLOOR). pgbench's hot-row UPDATE rate stays beside it as
# information: it is the server alone, which no client path reaches (the reference measured about
# 0.05 of it, bound by the Python client, not by its SQL).
GOAL_RATIO = 0.5


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S1")
def test_consumes_under_load_stay_exact_and_fast(counters, counter_workspace, counter_profile,
                                                 module_database):
    """At 1, 8 and 32 concurrent workers for a few seconds each, every granted consume is
    counted exactly once (the stored counter equals the grants, none denied under an endless
    quota). At the most workers the consume rate is at least half its floor's: one-statement
    consumes sent by the same client path (``FLOOR``), the two measured in turns, twice, each
    judged by its best turn. Granted consumes per second
    are recorded beside pgbench's rate for an UPDATE of one hot row on the same server
    (information: the server alone)."""
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
    # the ratio's two sides in turns, twice (consume, floor, consume, floor at the most workers), each
    # side judged by its best turn: a burst of other load on the machine slows one turn, not a
    # side, while a consume slower than its floor is slower in every turn
    floors = [floor_rate(module_database, top["workers"], seconds,
                         tolerance=counter_profile.throughput_tolerance)]
    again = consume_rate(counters, counter_workspace, feature_name("rate-again", top["workers"]),
                         top["workers"], seconds, tolerance=counter_profile.throughput_tolerance)
    if again.stored != again.granted or again.denied or not again.granted:
        problems.append({"workers": top["workers"], "turn": 2, "granted": again.granted,
                         "denied": again.denied, "stored": again.stored})
    floors.append(floor_rate(module_database, top["workers"], seconds,
                             tolerance=counter_profile.throughput_tolerance))
    consume_turns = [top["consume_per_s"], round(again.per_second, 1)]
    floor = max(floors, key=lambda f: f.per_second)
    ratio = max(consume_turns) / floor.per_second if floor.per_second else 0.0
    record_metric(f"consume_floor_per_s_{top['workers']}w", floor.per_second, "1/s")
    record_metric(f"consume_to_floor_ratio_{top['workers']}w", ratio, "", threshold=GOAL_RATIO,
                  comparison=">=")
    attach_json({"cap_seconds_per_point": seconds, "tolerance": counter_profile.throughput_tolerance,
                 "points": points,
                 "floor": {"what": FLOOR, "workers": floor.workers,
                           "per_second": round(floor.per_second, 1), "granted": floor.granted,
                           "stored": floor.stored, "seconds": round(floor.seconds, 2),
                           "stopped": floor.stopped},
                 "turns at the most workers": {"consume_per_s": consume_turns,
                                               "floor_per_s": [round(f.per_second, 1) for f in floors]},
                 "consume_to_floor_ratio": round(ratio, 3), "goal_ratio": GOAL_RATIO},
                "consume throughput beside its floor and pgbench")
    assert not problems, f"the counter drifted from the grants under load: {problems}"
    assert all(f.stored == f.granted for f in floors), f"the floor's own counter drifted: {floors}"
