"""Relevance judged per mode (no database): floors, hybrid above each branch alone, the baseline
of the previous packet, and a verdict whatever the target's retrieval answered."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.ai.relevance import (
    RelevanceReport,
    load_profile,
    metric_name,
    mode_problems,
    rank_documents,
    score_run,
)
from harness.baselines import baseline_metrics

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "retrieval"
PROFILE = load_profile(FIXTURES / "profile.yaml")


def report(ndcg: float, recall: float) -> RelevanceReport:
    return RelevanceReport({"ndcg@10": ndcg, "recall@10": recall})


# what the reference measures (fixtures/retrieval/profile.yaml)
REFERENCE = {"exact": report(0.915, 0.948), "hnsw": report(0.915, 0.948), "text": report(0.805, 0.793),
             "hybrid": report(0.982, 0.983)}


def test_the_reference_figures_hold():
    assert mode_problems(REFERENCE, PROFILE, {}) == []


def test_a_hybrid_that_is_its_text_branch_fails_the_branch_comparison():
    text_only = {**REFERENCE, "hybrid": REFERENCE["text"]}
    whys = [p["why"] for p in mode_problems(text_only, PROFILE, {})]
    assert any("does not beat its text branch" in w for w in whys)
    assert any("below the profile's floor" in w for w in whys)


def test_a_drop_above_every_floor_fails_against_the_previous_packet(tmp_path):
    """0.95 is above the hybrid floor (0.93) and beats both branches; the last release measured
    0.982, so it is a regression all the same."""
    packet = tmp_path / "S07"
    packet.mkdir()
    metrics = [{"name": metric_name(m, k, PROFILE), "value": v}
               for m, r in REFERENCE.items() for k, v in r.metrics.items()]
    (packet / "packet.json").write_text(json.dumps({"items": [{"id": "S07.retrieval-relevance",
                                                               "metrics": metrics}]}))
    baseline = baseline_metrics("HARNESS_RETRIEVAL_BASELINE", packet)
    dropped = {**REFERENCE, "hybrid": report(0.95, 0.983)}
    assert mode_problems(dropped, PROFILE, {}) == []
    problems = mode_problems(dropped, PROFILE, baseline)
    assert [(p["metric"], p["baseline"]) for p in problems] == [("ndcg@10", 0.982)]


def test_a_failed_query_is_listed_as_a_problem_of_the_target():
    broken = {**REFERENCE, "text": RelevanceReport(REFERENCE["text"].metrics, errors={"q": "boom"})}
    assert [p["query"] for p in mode_problems(broken, PROFILE, {}) if "query" in p] == ["q"]


hits = st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=2),
                          st.sampled_from(["c1", "c2", "c3"])), max_size=12)


@settings(deadline=None, max_examples=50)
@given(hits=hits)
@example(hits=["", "\x00"])    # a NUL ends an id inside trec_eval: once one "duplicate doc", scored > 1
def test_any_answer_gets_a_score(hits):
    """Unknown chunks, duplicates, unhashable or empty answers: a ranking and a score in [0, 1]."""
    run = {"q": rank_documents(hits, {"c1": "d1", "c2": "d2"})}
    scored = score_run({"q": {"d1": 2, "d2": 1}}, run, k=10, recall_at=10)
    assert all(0.0 <= v <= 1.0 for v in scored.metrics.values())
