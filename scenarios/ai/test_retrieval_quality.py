"""S07 retrieval quality: relevance on the evaluation set (with latency), citations that resolve to
their chunk, document and version, and evaluation and safety results attributable to a model."""

from __future__ import annotations

import pytest

from harness.ai import Retrieval, lineage, require_no_problems
from harness.ai.protocols import EvalRecord, SafetyRecord
from harness.ai.relevance import (
    BASELINE_ENV,
    MODES,
    evaluate,
    latency_profile,
    load_eval_set,
    load_into,
    load_profile,
    metric_name,
    mode_problems,
    version_problems,
)
from harness.baselines import baseline_metrics
from harness.capabilities import require
from harness.core import read_catalog
from harness.evidence import attach_json, record_metric
from scenarios.ai.conftest import FIXTURES

PROMPT_VERSION = "retrieval-hybrid-rrf60@1"


@pytest.fixture(scope="module")
def retrieval(module_adapter, harness_target) -> Retrieval:
    return require(module_adapter, "retrieval", harness_target)


@pytest.fixture(scope="module")
def profile():
    return load_profile(FIXTURES / "retrieval" / "profile.yaml")


@pytest.fixture(scope="module")
def eval_set():
    return load_eval_set(FIXTURES / "retrieval" / "eval_set.yaml")


@pytest.fixture(scope="module")
def loaded(retrieval, workspaces, eval_set):
    """The evaluation corpus in workspace A, embedded with every model version of the target."""
    versions = retrieval.embedding_versions()
    return load_into(retrieval, workspaces[0], eval_set, tuple(versions[:2]))


@pytest.mark.evidence("S07.retrieval-relevance", story="F5-E2-S2")
def test_relevance_on_the_evaluation_set_meets_the_profile(retrieval, workspaces, eval_set, loaded, profile):
    """nDCG@10 and recall@k of every mode (exact, hnsw, text and the profile's hybrid) on
    fixtures/retrieval/eval_set.yaml are at or above their floors; hybrid beats each branch
    alone (the vector branch, the text branch) by the profile's margin on a set where they
    disagree; with a baseline packet (HARNESS_RETRIEVAL_BASELINE, or harness gate's previous
    S07 packet) no mode drops beyond the tolerance. The per-mode figures and the latency of
    k=10 retrievals are attached and recorded."""
    reports = {mode: evaluate(retrieval, workspaces[0], eval_set, loaded, profile, mode=mode)
               for mode in MODES}
    attach_json({mode: {"metrics": r.metrics, "per query": r.per_query, "errors": r.errors}
                 for mode, r in reports.items()}, "relevance per mode")
    for mode, report in reports.items():
        floors = profile.thresholds if mode == profile.mode else profile.mode_floors.get(mode, {})
        for name, value in report.metrics.items():
            if name in floors:
                record_metric(metric_name(mode, name, profile), value, "",
                              threshold=floors[name], comparison=">=")
            else:
                record_metric(metric_name(mode, name, profile), value)
    for mode in ("exact", "hnsw"):
        timing = latency_profile(retrieval, workspaces[0], list(eval_set.queries.values()), profile.k, mode)
        attach_json(timing, f"latency {mode}")
        record_metric(f"{mode} k={profile.k} latency p50", timing["p50_ms"], "ms")
        record_metric(f"{mode} k={profile.k} latency p95", timing["p95_ms"], "ms")
    main = reports[profile.mode]
    retrieval.record_eval(workspaces[0], EvalRecord(
        "retrieval", f"ndcg@{profile.k}", main.metrics[f"ndcg@{profile.k}"], "hash-ngram",
        profile.model_version, PROMPT_VERSION, eval_set.version))
    baseline = baseline_metrics(BASELINE_ENV)
    attach_json({"baseline": baseline or "none named", "tolerance": profile.baseline_tolerance},
                "relevance baseline")
    require_no_problems(mode_problems(reports, profile, baseline),
                        "retrieval relevance fell below a floor, the branches or the baseline")


@pytest.mark.evidence("S07.embedding-versioning", story="F5-E2-S1")
def test_each_model_version_meets_its_own_relevance_floor(retrieval, workspaces, eval_set, loaded, profile):
    """With the evaluation corpus embedded under every model version, a query for version N
    ranks the corpus as well as version N's own floor demands, in the vector branch alone
    (exact): a query embedded with another version's model, or version N's rows holding another
    version's vectors, compares vectors of two spaces and ranks at random. The per-version
    figures are attached and recorded against their floors."""
    reports = {version: evaluate(retrieval, workspaces[0], eval_set, loaded, profile,
                                 mode=profile.version_mode, model_version=version)
               for version in retrieval.embedding_versions()[:2]}
    attach_json({version: {"mode": profile.version_mode, "metrics": r.metrics,
                           "floors": profile.version_floors.get(version), "per query": r.per_query,
                           "errors": r.errors} for version, r in reports.items()},
                "relevance per model version")
    for version, report in reports.items():
        floors = profile.version_floors.get(version, {})
        for name, value in report.metrics.items():
            record_metric(f"v{version} {profile.version_mode} {name}", value, "",
                          **({"threshold": floors[name], "comparison": ">="} if name in floors else {}))
    require_no_problems(version_problems(reports, profile),
                        "a model version ranks below its own floor")


@pytest.mark.evidence("S07.citation-traceability", story="F5-E3-S1")
def test_citations_resolve_to_their_chunk_document_and_version(retrieval, workspaces, eval_set,
                                                               seed_conn, module_database):
    """Chunks retrieved for the evaluation queries are cited; after the document gets a new
    version every citation still resolves to the chunk, document and version it was drawn from,
    its quote is in that chunk, workspace B can neither resolve nor make such a citation, and no
    stored row anywhere references another workspace."""
    a, b = workspaces
    title, chunks = eval_set.documents["billing-refunds"]
    doc = retrieval.load_document(a, title, chunks)
    text = dict(zip(doc.chunk_ids, chunks, strict=True))
    hits = [h for h in retrieval.retrieve(a, eval_set.queries["q-refund"], k=10)
            if h.chunk_id in text]
    cited = {retrieval.cite(a, h.chunk_id, text[h.chunk_id][:40]): h for h in hits}
    retrieval.add_version(a, doc.document_id, [c.replace("thirty", "fourteen") for c in chunks])
    problems = [] if cited else [{"problem": "no chunk of the cited document was retrieved"}]
    for citation, hit in cited.items():
        trace = retrieval.resolve_citation(a, citation)
        if (trace.chunk_id, trace.document_id, trace.version_id, trace.version_no) != \
                (hit.chunk_id, doc.document_id, doc.version_id, 1) or trace.quote not in trace.chunk_content:
            problems.append({"citation": citation, "resolved": trace.__dict__})
        for attempt in (lambda c=citation: retrieval.resolve_citation(b, c),
                        lambda h=hit: retrieval.cite(b, h.chunk_id, "stolen")):
            try:
                attempt()
                problems.append({"citation": citation, "problem": "workspace B reached it"})
            except LookupError:
                pass
    catalog = read_catalog(seed_conn, module_database.spec)
    problems += lineage.cross_workspace_rows(seed_conn, catalog)
    attach_json({"citations": len(cited)}, "citations")
    require_no_problems(problems, "a citation does not resolve to where it was drawn from")


@pytest.mark.evidence("S07.safety-telemetry", story="F4-E3-S2")
def test_a_model_rollback_is_attributable_from_stored_results(retrieval, workspaces, eval_set, loaded, profile):
    """Relevance measured with each embedding model version is stored with that version and the
    prompt version; read back, the stored rows alone say which version scored what, so moving
    back to the better version is attributable."""
    measured = {}
    for version in retrieval.embedding_versions()[:2]:
        report = evaluate(retrieval, workspaces[0], eval_set, loaded, profile, model_version=version)
        measured[version] = report.metrics[f"ndcg@{profile.k}"]
        retrieval.record_eval(workspaces[0], EvalRecord("rollback-check", "ndcg@rollback", measured[version],
                                                        "hash-ngram", version, PROMPT_VERSION,
                                                        eval_set.version))
    stored = {r.model_version: r.value for r in retrieval.eval_history(workspaces[0], "ndcg@rollback")
              if r.prompt_version == PROMPT_VERSION}
    attach_json({"measured": measured, "stored": stored}, "per model version")
    problems = [] if stored == pytest.approx(measured) and len(stored) == len(measured) >= 2 else \
        [{"measured": measured, "stored": stored}]
    if retrieval.eval_history(workspaces[1], "ndcg@rollback"):
        problems.append({"problem": "workspace B sees workspace A's evaluation rows"})
    require_no_problems(problems, "stored evaluation rows do not attribute results to model versions")


@pytest.mark.evidence("S07.safety-telemetry", story="F4-E3-S3")
def test_safety_results_keep_the_model_and_prompt_they_judged(retrieval, workspaces):
    """Safety verdicts are stored with model, model version and prompt version; a verdict without
    its model version is refused and never stored; workspace B sees none of A's verdicts."""
    a, b = workspaces
    records = [SafetyRecord("prompt-injection", "block", "guard", "2026-10", "safety@4", 0.97),
               SafetyRecord("pii", "pass", "guard", "2026-11", "safety@4", 0.02)]
    for record in records:
        retrieval.record_safety(a, record)
    problems = []
    try:
        retrieval.record_safety(a, SafetyRecord("toxicity", "flag", "guard", "", "safety@4"))
        problems.append({"problem": "a verdict without a model version was accepted"})
    except Exception:   # refused by the data layer: whatever its type, it must not be stored
        pass
    stored = retrieval.safety_history(a)
    if stored != records:
        problems.append({"stored": [s.__dict__ for s in stored], "recorded": [r.__dict__ for r in records]})
    if retrieval.safety_history(b):
        problems.append({"problem": "workspace B sees workspace A's safety results"})
    attach_json([s.__dict__ for s in stored], "safety results")
    require_no_problems(problems, "safety results are not attributable to the model they judged")
