"""Billing reconciliation judges whatever the target's mirror answers and never crashes: a
corrupted mirror (missing keys, wrong types, a subscription listed twice, out of order) or a
repaired list that is not one is a failure of the target with the raw answer attached."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core.judging import DEFECT_TITLE
from harness.replay.capability import SubscriptionState
from harness.replay.failures import ReplayFailure
from harness.replay.mirror import require_no_drift, require_reconciled

PROVIDER = {"sub_a": SubscriptionState("active", "team", 3, 7),
            "sub_b": SubscriptionState("canceled", "solo", 1, 4)}

states = st.builds(SubscriptionState, st.sampled_from(["active", "canceled", ""]),
                   st.sampled_from(["team", "solo"]), st.integers(-2, 5), st.integers(-1, 9))
junk = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.floats(),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
keys = st.one_of(st.sampled_from(["sub_a", "sub_b", "sub_c"]), st.integers(-1, 2), st.none(),
                 st.tuples(st.integers(0, 1)))
mirrors = st.one_of(junk, st.dictionaries(keys, st.one_of(states, junk), max_size=4),
                    st.lists(st.tuples(keys, states), max_size=3))


@settings(max_examples=200, deadline=None)
@given(mirror=mirrors, history=st.one_of(st.none(), st.lists(st.one_of(st.text(max_size=3), st.integers()))))
def test_any_mirror_gets_a_verdict_never_an_exception(mirror, history):
    """Whatever the mirror, the check passes (it equals the provider) or fails on the target."""
    try:
        require_no_drift(mirror, PROVIDER, "corrupted mirror", history=history)
    except ReplayFailure as failure:
        assert failure.context, "a failure carries its evidence"
    else:
        assert {str(k): v for k, v in mirror.items()} == PROVIDER


@settings(max_examples=200, deadline=None)
@given(repaired=st.one_of(junk, st.lists(st.one_of(keys, junk), max_size=4)),
       drifted=st.dictionaries(st.sampled_from(["sub_a", "sub_b"]), st.none(), max_size=2))
def test_any_repaired_answer_gets_a_verdict_never_an_exception(repaired, drifted):
    try:
        require_reconciled(drifted, repaired, "corrupted reconciliation")
    except ReplayFailure as failure:
        assert any(title == "repaired (raw)" for title, _ in failure.context)
    else:
        assert sorted(map(str, repaired)) == sorted(drifted)


@pytest.mark.parametrize(("mirror", "expect"), [
    ([("sub_a", PROVIDER["sub_a"])], "not a mapping"),
    ({"sub_a": PROVIDER["sub_a"], "sub_b": {"status": "canceled"}}, "is not a subscription state"),
    ({"sub_a": PROVIDER["sub_a"], 1: PROVIDER["sub_b"], "1": PROVIDER["sub_b"]}, "listed twice"),
    ({"sub_b": PROVIDER["sub_b"], "sub_a": SubscriptionState("active", "team", 3, 6)}, "disagrees"),
])
def test_a_corrupted_mirror_is_a_failure_of_the_target_with_the_raw_answer(mirror, expect):
    with pytest.raises(ReplayFailure, match=expect) as caught:
        require_no_drift(mirror, PROVIDER, "mirror")
    assert DEFECT_TITLE not in dict(caught.value.context)


def test_a_checker_defect_is_a_separate_section_and_the_verdict_stays_on_the_target():
    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot print this id")

    with pytest.raises(ReplayFailure, match="could not explain") as caught:
        require_no_drift({Unprintable(): PROVIDER["sub_a"]}, PROVIDER, "mirror")
    sections = dict(caught.value.context)
    assert "cannot print this id" in sections[DEFECT_TITLE] and "mirror (raw)" in sections


@pytest.mark.parametrize(("repaired", "expect"), [
    (None, "not a list"), ("sub_a", "not a list"), (["sub_a", "sub_a", "sub_b"], "2 times"),
    (["sub_a"], "sub_b not repaired"), (["sub_a", "sub_b", "sub_c"], "without drift")])
def test_reconciliation_must_repair_exactly_the_drifted_subscriptions(repaired, expect):
    with pytest.raises(ReplayFailure, match=expect):
        require_reconciled(dict.fromkeys(PROVIDER), repaired, "reconciliation")
    require_reconciled(dict.fromkeys(PROVIDER), ["sub_b", "sub_a"], "reconciliation")
