"""S07 retrieval isolation and versioning: near-duplicate tenants under every retrieval mode and
HNSW setting, filter-after-limit, and model versions that are never compared."""

from __future__ import annotations

import pytest

from harness.ai import Retrieval, require_no_problems
from harness.ai.relevance import load_profile
from harness.ai.retrieval import (
    MODES,
    cross_tenant_probes,
    load_near_duplicates,
    seed_near_duplicates,
    version_probes,
)
from harness.capabilities import require
from harness.evidence import attach_json
from scenarios.ai.conftest import FIXTURES


@pytest.fixture(scope="module")
def retrieval(module_adapter, harness_target) -> Retrieval:
    return require(module_adapter, "retrieval", harness_target)


@pytest.fixture(scope="module")
def profile():
    return load_profile(FIXTURES / "retrieval" / "profile.yaml")


@pytest.fixture(scope="module")
def near_duplicates(retrieval, workspaces):
    data = load_near_duplicates(FIXTURES / "retrieval" / "near_duplicates.yaml")
    return seed_near_duplicates(retrieval, *workspaces, data)


@pytest.fixture(scope="module")
def near_duplicate_probes(retrieval, near_duplicates, profile) -> list[dict]:
    """Every query x mode x HNSW setting, bound to A (run once, judged by two tests)."""
    return cross_tenant_probes(retrieval, near_duplicates, profile.k, profile.hnsw_settings)


def _judge(observations: list[dict], name: str, message: str) -> None:
    attach_json(observations, name)
    require_no_problems([o for o in observations if not o["passed"]], message)


@pytest.mark.evidence("S07.cross-tenant-retrieval-negatives", story="F5-E2-S2")
def test_retrieval_never_returns_another_workspaces_chunks(near_duplicate_probes):
    """B's chunks are the nearest vectors to A's queries; bound to A, exact, HNSW, full-text and
    hybrid retrieval return none of them, under ef_search and iterative-scan settings on and off."""
    _judge([{**p, "passed": not p["leaked"] and p["problem"] != "returned chunks not seeded in A"}
            for p in near_duplicate_probes], "leak probes", "retrieval bound to A returned chunks it must not see")


@pytest.mark.evidence("S07.cross-tenant-retrieval-negatives", story="F5-E2-S3")
def test_the_tenant_filter_runs_before_the_top_k(near_duplicate_probes):
    """Bound to A, vector and hybrid retrieval return k of A's own chunks even when B holds the
    nearest ones: fewer means the tenant filter (RLS) was applied after the top-k was taken."""
    _judge(near_duplicate_probes, "top-k probes", "retrieval filtered the workspace after taking the top k")


@pytest.mark.evidence("S07.cross-tenant-retrieval-negatives", story="F5-E2-S2")
def test_workspace_b_sees_only_its_own_near_duplicates(retrieval, near_duplicates, profile):
    """The mirror image: bound to B, no retrieval returns A's chunks."""
    mirrored = type(near_duplicates)(near_duplicates.b, near_duplicates.a, near_duplicates.b_chunks,
                                     near_duplicates.a_chunks, near_duplicates.queries)
    probes = cross_tenant_probes(retrieval, mirrored, profile.k, profile.hnsw_settings[:1])
    _judge([{**p, "passed": not p["leaked"]} for p in probes], "mirror probes",
           "retrieval bound to B returned A's chunks")


@pytest.mark.evidence("S07.embedding-versioning", story="F5-E2-S1")
def test_vectors_of_different_model_versions_are_never_compared(retrieval, workspaces, profile):
    """Documents embedded with versions 1 and 2, and some with version 1 only: a query for either
    version ranks only rows of that version, in every mode, and never a chunk without one."""
    versions = retrieval.embedding_versions()
    if len(versions) < 2:
        require_no_problems([{"versions": versions}], "the target embeds with one model version only")
    current, other = versions[0], versions[1]
    data = load_near_duplicates(FIXTURES / "retrieval" / "near_duplicates.yaml")
    workspace = workspaces[1]
    both = retrieval.load_document(workspace, "both versions", data.a_texts, (current, other))
    only_current = retrieval.load_document(workspace, "current version only", data.b_texts, (current,))
    observations = version_probes(retrieval, workspace, data.queries, other,
                                  frozenset(only_current.chunk_ids), profile.k)
    observations += version_probes(retrieval, workspace, data.queries, current, frozenset(), profile.k)
    returned = [o for o in observations if o["hits"]]
    if not returned:
        observations.append({"passed": False, "problem": "no query returned anything"})
    attach_json({"both": len(both.chunk_ids), "current only": len(only_current.chunk_ids)}, "seeded")
    _judge(observations, "version probes", "retrieval compared vectors of different model versions")


@pytest.mark.evidence("S07.cross-tenant-retrieval-negatives", story="F5-E2-S3")
def test_a_top_1_bound_to_a_answers_one_of_a_s_chunks(retrieval, near_duplicates):
    """The smallest top-k: bound to A, k = 1 answers exactly one chunk, A's own, in every mode,
    although B holds the nearest vector (a filter applied after the limit answers none, a
    refused k = 1 answers nothing at all)."""
    observations = []
    for query in near_duplicates.queries:
        for mode in MODES:
            try:
                hits = [h.chunk_id for h in retrieval.retrieve(near_duplicates.a, query, k=1, mode=mode)]
                problem = "" if len(hits) == 1 and hits[0] in near_duplicates.a_chunks else \
                    f"{len(hits)} hit(s), {sum(h not in near_duplicates.a_chunks for h in hits)} not A's"
            except Exception as exc:  # the target's answer, judged: never a crash of the harness
                hits, problem = [], f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            observations.append({"query": query, "mode": mode, "hits": [str(h) for h in hits],
                                 "problem": problem, "passed": not problem})
    _judge(observations, "top-1 probes", "retrieval bound to A with k = 1 did not answer one of A's chunks")
