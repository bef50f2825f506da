"""Fast tests of the AI data family's plain pieces: relevance scoring, the fixture loaders and the
reference embedder (no database)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.ai.relevance import load_eval_set, load_profile, score_run
from harness.ai.retrieval import load_near_duplicates
from reference_impl.ai.embedder import HashedNgramEmbedder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "retrieval"


def test_a_perfect_ranking_scores_one_and_a_bad_one_less():
    judgments = {"q": {"d1": 2, "d2": 1}}
    perfect = score_run(judgments, {"q": {"d1": 3.0, "d2": 2.0, "x": 1.0}}, k=10, recall_at=10)
    worse = score_run(judgments, {"q": {"x": 3.0, "d2": 2.0}}, k=10, recall_at=10)
    assert perfect.metrics == {"ndcg@10": pytest.approx(1.0), "recall@10": pytest.approx(1.0)}
    assert worse.metrics["ndcg@10"] < 0.5 and worse.metrics["recall@10"] == pytest.approx(0.5)


def test_the_fixture_files_load_and_agree():
    eval_set = load_eval_set(FIXTURES / "eval_set.yaml")
    profile = load_profile(FIXTURES / "profile.yaml")
    duplicates = load_near_duplicates(FIXTURES / "near_duplicates.yaml")
    assert eval_set.queries and set(eval_set.judgments) == set(eval_set.queries)
    assert set(profile.thresholds) == {f"ndcg@{profile.k}", f"recall@{profile.recall_at}"}
    assert len(duplicates.a_texts) >= profile.k, "A needs at least k chunks for the top-k probe"


def test_an_eval_set_judging_an_unknown_document_is_refused(tmp_path):
    bad = tmp_path / "eval.yaml"
    bad.write_text("version: 1\ndocuments: {d: {title: t, chunks: [c]}}\n"
                   "queries: {q: {text: x, judgments: {nope: 2}}}\n")
    with pytest.raises(ValueError, match="unknown documents"):
        load_eval_set(bad)


def test_the_embedder_is_deterministic_normalised_and_versioned():
    v1, v2 = HashedNgramEmbedder("1"), HashedNgramEmbedder("2")
    text = "refund policy for annual plans"
    assert v1.embed(text) == v1.embed(text)
    assert math.isclose(sum(x * x for x in v1.embed(text)), 1.0, rel_tol=1e-9)
    near = sum(a * b for a, b in zip(v1.embed(text), v1.embed(text + "s"), strict=True))
    far = sum(a * b for a, b in zip(v1.embed(text), v1.embed("reset a password"), strict=True))
    assert near > 0.9 > far
    assert v1.embed(text) != v2.embed(text)
    with pytest.raises(ValueError, match="no version"):
        HashedNgramEmbedder("9").embed(text)
