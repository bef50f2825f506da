"""The agent-run state machine's verdict on one operation (no database): every observation, even
one the machine has no name for, gets a verdict."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.ai.agent_runs import OPERATIONS, STATES, transition_holds


def test_the_machine_allows_its_moves_and_refuses_the_rest():
    assert transition_holds("running", "allowed", "running", "pending")
    assert not transition_holds("running", "refused", "pending", "pending")
    assert transition_holds(None, "refused", "succeeded", "succeeded")
    assert not transition_holds(None, "allowed", "running", "succeeded")      # done -> running
    assert not transition_holds(None, "refused", "running", "succeeded")      # refused, yet moved


@given(state=st.sampled_from(STATES), operation=st.sampled_from(sorted(OPERATIONS)),
       outcome=st.one_of(st.sampled_from(["allowed", "refused"]), st.text(max_size=12)),
       after=st.one_of(st.sampled_from(STATES), st.text(max_size=12)))
def test_any_observation_gets_a_verdict(state, operation, outcome, after):
    """A target that raises something else, or reports a state the machine does not know,
    fails the check: only the machine's own moves pass."""
    expected = OPERATIONS[operation].get(state)
    verdict = transition_holds(expected, outcome, after, state)
    assert verdict == ((outcome, after) == ("allowed", expected) if expected
                       else (outcome, after) == ("refused", state))
