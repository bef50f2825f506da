"""S08.replay-safety: a stateful model of deliver, redeliver, crash, fail, fix and replay."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from harness.evidence import attach_json
from harness.replay.model import consumer_machine
from harness.replay.profiles import replay_settings


@pytest.mark.slow
@pytest.mark.evidence("S08.replay-safety", story="F6-E2-S1")
def test_effects_equal_the_distinct_events_that_succeeded_at_every_step(
        events, new_workspace, kill_before_commit, consumer_stream):
    """Whatever mix of deliveries, redeliveries, crashes, handler failures, fixes and replays
    hypothesis tries, after every step each succeeded event took effect exactly once, nothing
    else did, and every dead letter is open or replayed as the history says. A failure carries
    the shrunk history."""
    machine = consumer_machine(events, new_workspace, kill_before_commit, consumer_stream[:4])
    profile = replay_settings()
    attach_json({"max_examples": profile.max_examples, "steps": profile.stateful_step_count},
                "hypothesis profile")
    run_state_machine_as_test(machine, settings=profile)
