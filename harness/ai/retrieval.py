"""Retrieval isolation and versioning checks (S07): near-duplicate tenants, HNSW settings,
filter-after-limit, model versions that must never be compared, citations that must resolve.

The seeds come from ``fixtures/retrieval/near_duplicates.yaml``: workspace B holds each query's
text almost verbatim (the nearest vectors to A's queries) and A holds the same topics reworded.
Bound to A, every retrieval mode under every planner setting must return only A's chunks, and
the vector and hybrid modes must still return k of them: fewer means the tenant filter ran after
the top-k was taken (an HNSW scan without iterative scans, a LIMIT before RLS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from harness.ai.protocols import Retrieval

__all__ = ["NearDuplicates", "VECTOR_MODES", "cross_tenant_probes", "load_near_duplicates",
           "seed_near_duplicates", "version_probes"]

VECTOR_MODES = ("exact", "hnsw", "hybrid")   # modes that must fill k when the workspace can
MODES = ("exact", "hnsw", "text", "hybrid")


@dataclass(frozen=True)
class NearDuplicates:
    queries: tuple[str, ...]
    a_texts: tuple[str, ...]
    b_texts: tuple[str, ...]


@dataclass(frozen=True)
class SeededPair:
    a: UUID
    b: UUID
    a_chunks: frozenset[UUID]
    b_chunks: frozenset[UUID]
    queries: tuple[str, ...]


def load_near_duplicates(path: Path) -> NearDuplicates:
    raw = yaml.safe_load(path.read_text())
    suffixes = raw["suffixes"]
    if len(suffixes) < raw["b_copies"]:
        raise ValueError(f"{path}: suffixes: give at least b_copies ({raw['b_copies']}) suffixes")
    topics = raw["topics"]
    return NearDuplicates(
        queries=tuple(t["query"] for t in topics),
        a_texts=tuple(f"{t['reworded']} ({n})" for t in topics for n in range(raw["a_copies"])),
        b_texts=tuple(f"{t['query']} {suffixes[n]}" for t in topics for n in range(raw["b_copies"])))


def seed_near_duplicates(adapter: Retrieval, a: UUID, b: UUID, data: NearDuplicates) -> SeededPair:
    doc_a = adapter.load_document(a, "near duplicates (A)", data.a_texts)
    doc_b = adapter.load_document(b, "near duplicates (B)", data.b_texts)
    return SeededPair(a, b, frozenset(doc_a.chunk_ids), frozenset(doc_b.chunk_ids), data.queries)


def cross_tenant_probes(adapter: Retrieval, seeds: SeededPair, k: int,
                        settings: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Every query x mode x setting, bound to A; an observation per probe, ``passed`` judged."""
    observations = []
    want = min(k, len(seeds.a_chunks))
    for query in seeds.queries:
        for mode in MODES:
            for setting in settings if mode in ("hnsw", "hybrid") else [{}]:
                hits = adapter.retrieve(seeds.a, query, k=k, mode=mode, settings=setting)
                leaked = [h.chunk_id for h in hits if h.chunk_id in seeds.b_chunks]
                foreign = [h.chunk_id for h in hits
                           if h.chunk_id not in seeds.a_chunks or h.workspace_id != seeds.a]
                short = mode in VECTOR_MODES and len(hits) < want
                problem = ("returned B's chunks" if leaked else
                           "returned chunks not seeded in A" if foreign else
                           f"returned {len(hits)} of A's chunks, not {want}: the tenant filter ran "
                           "after the top-k (filter after limit)" if short else None)
                observations.append({"query": query, "mode": mode, "settings": dict(setting),
                                     "hits": len(hits), "leaked": len(leaked), "passed": problem is None,
                                     "problem": problem})
    return observations


def version_probes(adapter: Retrieval, workspace: UUID, queries: Sequence[str], version: str,
                   only_other_version: frozenset[UUID], k: int) -> list[dict[str, Any]]:
    """Queries for ``version`` in every mode: each hit must carry ``version`` and none may be a
    chunk that has no embedding of that version."""
    observations = []
    for query in queries:
        for mode in MODES:
            hits = adapter.retrieve(workspace, query, k=k, mode=mode, model_version=version)
            mixed = [h.model_version for h in hits if h.model_version != version]
            stray = [h.chunk_id for h in hits if h.chunk_id in only_other_version]
            problem = (f"ranked rows of model version(s) {sorted(set(mixed))} for a version "
                       f"{version} query" if mixed else
                       f"returned {len(stray)} chunk(s) that have no version {version} embedding"
                       if stray else None)
            observations.append({"query": query, "mode": mode, "hits": len(hits),
                                 "passed": problem is None, "problem": problem})
    return observations
