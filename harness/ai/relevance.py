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

Relevance is judged three ways (:func:`mode_problems`): each mode (exact, hnsw, text, hybrid) at
or above its floor; hybrid above each of its branches alone (exact for the vector branch, text)
by the profile's margin, which the evaluation set makes possible with queries where the
branches disagree (misspellings only the vector finds, bare identifiers only the text finds);
and, when ``HARNESS_RETRIEVAL_BASELINE`` names a previous packet, no mode more than the profile's
tolerance below the last release. A retrieval that fails or answers something unreadable scores
zero for that query and is listed: a failure of the target, never a crash of the evaluation.
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

__all__ = ["BASELINE_ENV", "MODES", "EvalSet", "Profile", "RelevanceReport", "evaluate",
           "latency_profile", "load_eval_set", "load_profile", "metric_name", "mode_problems",
           "score_run", "version_problems"]

BASELINE_ENV = "HARNESS_RETRIEVAL_BASELINE"
MODES = ("exact", "hnsw", "text", "hybrid")
BRANCHES = {"exact": "vector", "text": "text"}     # hybrid's branches, each alone


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
    mode_floors: dict[str, dict[str, float]] = field(default_factory=dict)
    hybrid_margin: float = 0.0
    baseline_tolerance: float = 0.02
    # per embedding model version: its floors, measured in version_mode (the vector branch alone,
    # so the text branch cannot hide a query embedded with another version's model)
    version_floors: dict[str, dict[str, float]] = field(default_factory=dict)
    version_mode: str = "exact"


@dataclass
class RelevanceReport:
    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    run: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)        # query id -> what went wrong


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
                   tuple({str(k): str(v) for k, v in s.items()} for s in raw.get("hnsw_settings", [])),
                   {str(mode): {str(m): float(v) for m, v in floors.items()}
                    for mode, floors in (raw.get("mode_floors") or {}).items()},
                   float(raw.get("hybrid_margin", 0.0)), float(raw.get("baseline_tolerance", 0.02)),
                   {str(version): {str(m): float(v) for m, v in floors.items()}
                    for version, floors in (raw.get("version_floors") or {}).items()},
                   str(raw.get("version_mode", "exact")))


def metric_name(mode: str, metric: str, profile: Profile) -> str:
    """The recorded name: the profile's own mode keeps the bare name (``ndcg@10``), as earlier
    packets recorded it, so a baseline from before still compares; others are prefixed."""
    return metric if mode == profile.mode else f"{mode} {metric}"


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
    errors: dict[str, str] = {}
    for qid, text in eval_set.queries.items():
        try:
            hits = list(adapter.retrieve(workspace, text, k=profile.k, mode=mode or profile.mode,
                                         model_version=model_version or profile.model_version))
        except Exception as exc:  # the target failed this query: it scores zero, and is listed
            errors[qid] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            hits = []
        run[qid] = rank_documents(hits, owner)
    report = score_run(eval_set.judgments, run, profile.k, profile.recall_at)
    report.errors = errors
    return report


def rank_documents(hits: list[Any], owner: dict[Any, str]) -> dict[str, float]:
    """A document ranking from chunk hits (a document scores as its best chunk). A hit that is
    not a chunk of the corpus ranks as an unknown document: wrong, never a crash."""
    ranking: dict[str, float] = {}
    for position, hit in enumerate(hits):
        chunk = getattr(hit, "chunk_id", hit)
        try:
            doc = owner.get(chunk)
        except TypeError:                       # an unhashable answer
            doc = None
        # an unknown answer is named by its repr: distinct answers stay distinct documents, and
        # none holds a NUL, which ends an id inside trec_eval ('' and '\x00' were then one
        # "duplicate doc", scored out of [0, 1])
        name = str(doc) if doc is not None else f"unknown:{chunk!r}"
        ranking.setdefault(name, float(len(hits) - position))   # rank order, best chunk first
    return ranking or {"none": 0.0}


def mode_problems(reports: dict[str, RelevanceReport], profile: Profile,
                  baseline: dict[str, float]) -> list[dict[str, Any]]:
    """Everything wrong with the per-mode figures (empty when relevance holds): a floor missed,
    hybrid not above a branch alone by the margin, a drop beyond tolerance from the baseline,
    a query the target failed to answer."""
    problems: list[dict[str, Any]] = []
    for mode, report in reports.items():
        floors = profile.thresholds if mode == profile.mode else profile.mode_floors.get(mode, {})
        for metric, floor in floors.items():
            value = report.metrics.get(metric)
            if value is None or value < floor:
                problems.append({"mode": mode, "metric": metric, "value": value, "floor": floor,
                                 "why": "below the profile's floor"})
        for metric, value in report.metrics.items():
            name = metric_name(mode, metric, profile)
            before = baseline.get(name)
            if before is not None and value < before - profile.baseline_tolerance:
                problems.append({"mode": mode, "metric": name, "value": value, "baseline": before,
                                 "why": f"dropped more than {profile.baseline_tolerance:g} below "
                                        "the previous packet"})
        problems += [{"mode": mode, "query": q, "why": f"retrieval failed: {e}"}
                     for q, e in report.errors.items()]
    hybrid = reports.get("hybrid")
    for branch, what in BRANCHES.items():
        alone = reports.get(branch)
        if hybrid is None or alone is None:
            continue
        for metric in hybrid.metrics:
            h, b = hybrid.metrics[metric], alone.metrics.get(metric, 0.0)
            if metric.startswith("ndcg") and h < b + profile.hybrid_margin:
                problems.append({"mode": "hybrid", "metric": metric, "value": h, f"{branch} alone": b,
                                 "why": f"hybrid does not beat its {what} branch alone by "
                                        f"{profile.hybrid_margin:g}"})
    return problems


def version_problems(reports: dict[str, RelevanceReport], profile: Profile) -> list[dict[str, Any]]:
    """Everything wrong with the per-version figures: a version below its own floor (a query
    embedded with another version's model, or stored vectors that are not the version's, rank
    at random in that version's space), a version the profile gives no floor, a failed query."""
    problems: list[dict[str, Any]] = []
    for version, report in reports.items():
        floors = profile.version_floors.get(version)
        if floors is None:
            problems.append({"model version": version, "why": "the profile gives this version no "
                             "floor: add it under version_floors in the retrieval profile"})
            continue
        for metric, floor in floors.items():
            value = report.metrics.get(metric)
            if value is None or value < floor:
                problems.append({"model version": version, "mode": profile.version_mode,
                                 "metric": metric, "value": value, "floor": floor,
                                 "why": "below the version's floor"})
        problems += [{"model version": version, "query": q, "why": f"retrieval failed: {e}"}
                     for q, e in report.errors.items()]
    return problems


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
