"""The reference adapter's AI-data operations: ingestion, retrieval and agent runs in one class.

``ReferenceAdapter`` inherits :class:`AiOperations`; :meth:`AiOperations.row_overrides` tells the
isolation suite's row factory what it cannot guess for these tables (a pgvector value, the
initial state of a state machine).
"""

from __future__ import annotations

from collections.abc import Mapping

from reference_impl.ai.agent_runs import AgentRunOperations
from reference_impl.ai.embedder import DIMENSIONS, vector_literal
from reference_impl.ai.ingestion import IngestionOperations
from reference_impl.ai.retrieval import RetrievalOperations

_UNIT = vector_literal([1.0] + [0.0] * (DIMENSIONS - 1))
_SEEDS: dict[str, dict[str, object]] = {
    "chunk_embeddings": {"embedding": _UNIT, "model": "hash-ngram", "model_version": "1"},
    "ingestion_jobs": {"state": "queued", "failure_class": None},
    "agent_runs": {"state": "pending", "failure_class": None},
    "tool_calls": {"state": "requested", "failure_class": None},
}


class AiOperations(IngestionOperations, RetrievalOperations, AgentRunOperations):
    """The ``ingestion``, ``retrieval`` and ``agent-runs`` capabilities of the reference."""

    # main's ReferenceAdapter.row_overrides reads every base class's ROW_OVERRIDES
    ROW_OVERRIDES: dict[str, dict[str, object]] = _SEEDS

    def row_overrides(self, table: str) -> Mapping[str, object]:
        if table in self.ROW_OVERRIDES:
            return self.ROW_OVERRIDES[table]
        parent = getattr(super(), "row_overrides", None)
        return parent(table) if parent is not None else {}
