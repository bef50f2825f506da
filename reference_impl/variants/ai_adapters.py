"""Adapter variants that break the AI data path in the service layer (the database is untouched)."""

from __future__ import annotations

from uuid import UUID, uuid4

from harness.ai.protocols import ToolCallResult
from reference_impl.adapter import ReferenceAdapter


class RetryWithoutIdempotencyKeyAdapter(ReferenceAdapter):
    """Retries a tool call by issuing it again under a fresh key: the classic lost idempotency key."""

    def retry_tool_call(self, workspace: UUID, run_id: UUID, tool_call_id: UUID, *,
                        fail: bool = False) -> ToolCallResult:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select tool, arguments from tool_calls where tool_call_id = %s",
                               (tool_call_id,)).fetchone()
        if row is None:
            raise LookupError(f"no tool call {tool_call_id} in workspace {workspace}")
        return self.call_tool(workspace, run_id, row[0], row[1], f"retry-{uuid4()}", fail=fail)


class TextOnlyHybridAdapter(ReferenceAdapter):
    """Hybrid retrieval that silently dropped its vector branch: every hybrid query is answered
    by the full-text ranking alone (a fusion refactor that lost one side, a vector index
    disabled "temporarily"). Other modes are untouched."""

    def retrieve(self, workspace, query, k=10, mode="hybrid", model_version=None, settings=None):
        return super().retrieve(workspace, query, k=k, mode="text" if mode == "hybrid" else mode,
                                model_version=model_version, settings=settings)
