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

CAPABILITIES = {"ingestion": Ingestion, "retrieval": Retrieval, "agent-runs": AgentRuns}

__all__ = ["CAPABILITIES", "AgentRuns", "AiDataFailure", "Ingestion", "Retrieval", "lineage",
           "require_no_problems"]
