"""The replay family's plain checks, without a database: signatures, drift, exactly-once, races."""

from __future__ import annotations

import threading
import time

import pytest

from harness.replay.capability import SubscriptionState
from harness.replay.checks import exactly_once_findings
from harness.replay.failures import ReplayFailure
from harness.replay.mirror import drift, latest_states, require_no_drift
from harness.replay.races import race
from harness.replay.signing import HEADER, digest, forgeries, sign


def test_exactly_once_names_duplicates_missing_and_unexpected():
    assert exactly_once_findings(["a", "b"], ["a", "b"], ["a", "b"]) == {}
    found = exactly_once_findings(["a", "a", "c"], ["a"], ["a", "b"])
    assert found == {"duplicate effects": {"a": 2}, "missing effects": ["b"],
                     "unexpected effects": ["c"], "missing inbox": ["b"]}


def test_latest_state_is_the_highest_sequence_whatever_the_order():
    events = [{"subscription_id": "s", "sequence": n, "status": f"v{n}", "plan": "p", "quantity": n}
              for n in (3, 1, 2)]
    assert latest_states(events) == {"s": SubscriptionState("v3", "p", 3, 3)}


def test_drift_names_each_disagreeing_subscription_and_the_check_raises():
    provider = {"a": SubscriptionState("active", "team", 1, 5), "b": SubscriptionState("active", "team", 1, 2)}
    mirror = {"a": SubscriptionState("active", "team", 1, 5), "c": SubscriptionState("canceled", "team", 1, 1)}
    assert sorted(drift(mirror, provider)) == ["b", "c"]
    with pytest.raises(ReplayFailure, match="2 subscription"):
        require_no_drift(mirror, provider, "test", history=["evt_1"])


def test_forgeries_each_break_one_thing_and_the_signature_verifies():
    body, now = b'{"id": "evt_1"}', 1_800_000_000
    headers = sign("secret", body, now)
    assert headers[HEADER] == f"t={now},v1={digest('secret', now, body)}"
    forged = forgeries("secret", body, now)
    assert len({f.name for f in forged}) == len(forged) >= 7
    flipped = next(f for f in forged if "flipped" in f.name).headers[HEADER]
    good = digest("secret", now, body)
    assert flipped.split("v1=")[1][:-1] == good[:-1] and flipped.split("v1=")[1] != good


def test_a_race_releases_every_contender_together():
    inside, peak, lock = 0, 0, threading.Lock()

    def contender(i: int) -> int:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        if i == 3:
            raise ValueError("an outcome, not a crash")
        return i

    outcomes = race(8, contender)
    assert peak == 8
    assert outcomes[:3] == [0, 1, 2] and isinstance(outcomes[3], ValueError)
    with pytest.raises(ValueError, match="2..32"):
        race(33, contender)
