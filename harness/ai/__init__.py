"""AI data checks: ingestion recovery, lineage, retrieval isolation and relevance, agent runs.

Plain functions a suite (or anyone) can call against a target's adapter and database:
``protocols`` holds the three capabilities (``ingestion``, ``retrieval``, ``agent-runs``) and
their records; ``ingestion`` the retry/dead-letter/replay checks; ``lineage`` the catalog-wide
"no row points into another workspace" checks; ``retrieval`` the near-duplicate cross-tenant and
model-version probes; ``relevance`` nDCG and recall on an evaluation set, and latency;
``agent_runs`` the run and tool-call checks; ``stateful`` random schedules (hypothesis). Every
failure is an :class:`AiDataFailure` carrying the observations that show it.
"""

from harness.ai import lineage
from harness.ai.failures import AiDataFailure, require_no_problems
from harness.ai.protocols import AgentRuns, Ingestion, Retrieval
from harness.families import Family, Variant

CAPABILITIES = {"ingestion": Ingestion, "retrieval": Retrieval, "agent-runs": AgentRuns}

__all__ = ["FAMILY", "CAPABILITIES", "AgentRuns", "AiDataFailure", "Ingestion", "Retrieval", "lineage",
           "require_no_problems"]

# the family: ingestion (S05), agent runs (S06) and retrieval (S07) through three capabilities
FAMILY = Family(
    name="ai", package="harness.ai",
    items=("S05.ingestion-recovery", "S05.dead-letter-diagnostics", "S05.chunk-traceability",
           "S06.run-state-tracking", "S06.idempotent-tool-writes", "S06.unauthorized-tool-negatives",
           "S06.tool-call-audit", "S06.failure-rollback", "S06.output-schema-conformance",
           "S07.cross-tenant-retrieval-negatives", "S07.retrieval-relevance",
           "S07.citation-traceability", "S07.embedding-versioning", "S07.safety-telemetry"),
    failure=AiDataFailure,
    capabilities=CAPABILITIES,
    profile="fixtures/retrieval/profile.yaml",
    variant_prefix="ai-",
    variants={
        "ai-retrieval-security-definer": Variant(frozenset({"S07.cross-tenant-retrieval-negatives"})),
        "ai-chunk-fk-without-workspace": Variant(frozenset({"S05.chunk-traceability"})),
        "ai-topk-before-tenant-filter": Variant(frozenset({"S07.cross-tenant-retrieval-negatives"})),
        "ai-tool-retry-without-idempotency-key": Variant(frozenset({"S06.idempotent-tool-writes"})),
        "ai-run-done-to-running": Variant(frozenset({"S06.run-state-tracking"})),
        # k = 1 refused: every probe at k = 10 passes, the top-1 probe does not
        "ai-top-1-refused": Variant(frozenset({"S07.cross-tenant-retrieval-negatives"}), frozenset(),
                                    gates=("S07",), select="top_1",
                                    tests={"top_1_bound_to_a": "failed"}),
        # the run's state read without a row lock: right one request at a time, started twice by a race
        "ai-run-moved-without-lock": Variant(frozenset({"S06.run-state-tracking"}), frozenset(),
                                             gates=("S06",), select="several_workers",
                                             tests={"several_workers_at_once": "failed"}),
        "ai-retrieval-ignores-model-version": Variant(frozenset({"S07.embedding-versioning"})),
        # the versions are never compared, but version 2 is ranked with the wrong vectors: the
        # query's (embedded with the current model) or the stored rows' (the current model's)
        "ai-query-embedded-with-current-model": Variant(
            frozenset({"S07.embedding-versioning"}), gates=("S07",),
            tests={"its_own_relevance_floor": "failed", "never_compared": "passed"}),
        "ai-stored-vectors-of-another-version": Variant(
            frozenset({"S07.embedding-versioning"}), gates=("S07",),
            tests={"its_own_relevance_floor": "failed", "never_compared": "passed"}),
        # without a limit there is no dead letter, so its diagnostics cannot be shown either
        "ai-ingestion-retry-without-attempt-limit": Variant(
            frozenset({"S05.ingestion-recovery", "S05.dead-letter-diagnostics"})),
        # hybrid answered by its text branch alone: below its floor and no better than a branch.
        # The top-k probe of S07.cross-tenant-retrieval-negatives notices too (text alone answers
        # fewer than k chunks), so only the relevance item is judged
        "ai-hybrid-text-only": Variant(frozenset({"S07.retrieval-relevance"}), frozenset()),
    },
)
