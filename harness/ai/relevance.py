"""Retrieval relevance on an evaluation set (S07.retrieval-relevance), and retrieval latency.

The evaluation set (``fixtures/retrieval/eval_set.yaml``) holds chunked documents, queries and
graded judgments on documents; the profile (``fixtures/retrieval/profile.yaml``) holds k, the
mode, the model version and the thresholds. :func:`evaluate` loads the documents into one
workspace through the adapter, retrieves for every query, turns chunk hits into a document run
(a document scores as its best chunk) and computes nDCG@10 and recall@k with **ir-measures**
over the **pytrec_eval** backend: trec_eval's own implementation, the numbers IR papers report,
imported in a twentieth of a second. (ranx installs here too, but its numba JIT costs about 35 s
on the first run of every fresh environment and pulls pandas and matplotlib: too much for a
suite that must run in about a minute.)
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from harness.ai.protocols import Retrieval

__all__ = ["EvalSet", "Profile", "RelevanceReport", "evaluate", "latency_profile", "load_eval_set",
           "load_profile", "score_run"]


@dataclass(frozen=True)
class EvalSet:
    version: str
    documents: dict[str, tuple[str, tuple[str, ...]]]      # key -> (title, chunks)
    queries: dict[str, str]                                 # query id -> text
    judgments: dict[str, dict[str, int]]                    # query id -> {document key: grade}


@dataclass(frozen=True)
class Profile:
    k: int
    recall_at: int
    mode: str
    model_version: str
    thresholds: dict[str, float]
    hnsw_settings: tuple[dict[str, str], ...]


@dataclass
class RelevanceReport:
    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    run: dict[str, dict[str, float]] = field(default_factory=dict)


def load_eval_set(path: Path) -> EvalSet:
    raw = yaml.safe_load(path.read_text())
    documents = {key: (d["title"], tuple(d["chunks"])) for key, d in raw["documents"].items()}
    for qid, q in raw["queries"].items():
        unknown = set(q["judgments"]) - set(documents)
        if unknown:
            raise ValueError(f"{path}: queries.{qid}.judgments names unknown documents "
                             f"{sorted(unknown)}; add them under documents:")
    return EvalSet(str(raw["version"]), documents, {q: v["text"] for q, v in raw["queries"].items()},
                   {q: dict(v["judgments"]) for q, v in raw["queries"].items()})


def load_profile(path: Path) -> Profile:
    raw = yaml.safe_load(path.read_text())
    return Profile(int(raw["k"]), int(raw["recall_at"]), raw["mode"], str(raw["model_version"]),
                   {str(m): float(v) for m, v in raw["thresholds"].items()},
                   tuple({str(k): str(v) for k, v in s.items()} for s in raw.get("hnsw_settings", [])))


def load_into(adapter: Retrieval, workspace: UUID, eval_set: EvalSet,
              model_versions: tuple[str, ...] = ("1",)) -> dict[UUID, str]:
    """Loads every document; returns chunk id -> document key."""
    owner = {}
    for key, (title, chunks) in eval_set.documents.items():
        ref = adapter.load_document(workspace, title, chunks, model_versions)
        owner.update(dict.fromkeys(ref.chunk_ids, key))
    return owner


def score_run(judgments: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
              k: int, recall_at: int) -> RelevanceReport:
    import ir_measures
    from ir_measures import R, nDCG

    measures = [nDCG @ k, R @ recall_at]
    aggregate = ir_measures.calc_aggregate(measures, judgments, run)
    per_query: dict[str, dict[str, float]] = {}
    for metric in ir_measures.iter_calc(measures, judgments, run):
        per_query.setdefault(metric.query_id, {})[str(metric.measure)] = metric.value
    names = {nDCG @ k: f"ndcg@{k}", R @ recall_at: f"recall@{recall_at}"}
    return RelevanceReport({names[m]: float(v) for m, v in aggregate.items()}, per_query, run)


def evaluate(adapter: Retrieval, workspace: UUID, eval_set: EvalSet, owner: dict[UUID, str],
             profile: Profile, mode: str | None = None,
             model_version: str | None = None) -> RelevanceReport:
    """Retrieves every query and scores the document ranking against the judgments."""
    run: dict[str, dict[str, float]] = {}
    for qid, text in eval_set.queries.items():
        hits = adapter.retrieve(workspace, text, k=profile.k, mode=mode or profile.mode,
                                model_version=model_version or profile.model_version)
        ranking: dict[str, float] = {}
        for position, hit in enumerate(hits):
            doc = owner.get(hit.chunk_id, f"unknown:{hit.chunk_id}")
            ranking.setdefault(doc, float(len(hits) - position))   # rank order, best chunk first
        run[qid] = ranking or {"none": 0.0}
    return score_run(eval_set.judgments, run, profile.k, profile.recall_at)


def latency_profile(adapter: Retrieval, workspace: UUID, queries: list[str], k: int, mode: str,
                    repeats: int = 3) -> dict[str, Any]:
    """Wall time of each retrieval through the adapter (one app-role transaction each), in ms."""
    samples = []
    for _ in range(repeats):
        for text in queries:
            started = time.perf_counter()
            adapter.retrieve(workspace, text, k=k, mode=mode)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    cut = statistics.quantiles(samples, n=20, method="inclusive")
    return {"mode": mode, "k": k, "n": len(samples), "p50_ms": statistics.median(samples),
            "p95_ms": cut[18], "max_ms": samples[-1]}
