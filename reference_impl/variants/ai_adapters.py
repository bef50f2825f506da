"""Adapter variants that break the AI data path in the service layer (the database is untouched)."""

from __future__ import annotations

from uuid import UUID, uuid4

import psycopg

from harness.ai.protocols import IllegalTransition, RunStatus, ToolCallResult
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


class RunMovedWithoutLockAdapter(ReferenceAdapter):
    """Moves a run after reading its state without locking the row (the mutation tool's
    drop-row-lock mutant of ``_move``): one request at a time the machine holds, but workers
    starting one run at once all read "pending" and all get "running" (the database lets a
    state be set to itself)."""

    def _move(self, workspace, run_id, target, failure_class=None, error=None):
        try:
            with self.in_workspace(workspace) as conn:
                current = conn.execute("select state from agent_runs where run_id = %s",
                                       (run_id,)).fetchone()
                if current is not None and current[0] == target:
                    raise IllegalTransition(f"agent run {run_id} is already {target}")
                row = conn.execute("update agent_runs set state = %s, failure_class = %s, error = %s "
                                   "where run_id = %s returning run_id, state, failure_class",
                                   (target, failure_class, error, run_id)).fetchone()
        except psycopg.errors.CheckViolation as err:
            raise IllegalTransition(str(err).splitlines()[0]) from err
        if row is None:
            raise LookupError(f"no agent run {run_id} in workspace {workspace}")
        return RunStatus(*row)


class QueryEmbeddedWithCurrentModelAdapter(ReferenceAdapter):
    """Retrieval that filters rows by the requested model version but embeds the query with the
    current model whatever the version asked (one cached embedder for queries): a query for
    version 2 compares a version-1 vector with version-2 rows."""

    def retrieve(self, workspace, query, k=10, mode="hybrid", model_version=None, settings=None):
        self._query_embedder = self.embedding_versions()[0]
        try:
            return super().retrieve(workspace, query, k, mode, model_version, settings)
        finally:
            self._query_embedder = None

    def embedder(self, model_version):
        return super().embedder(getattr(self, "_query_embedder", None) or model_version)


class StoredVectorsOfAnotherVersionAdapter(ReferenceAdapter):
    """Ingestion that labels each chunk's rows with every requested model version but stores the
    current model's vector under all of them (a backfill that copied the column instead of
    re-embedding): version 2's rows hold version 1's vectors."""

    def _add_version(self, conn, workspace, document, number, chunks, model_versions):
        self._store_with = self.embedding_versions()[0]
        try:
            return super()._add_version(conn, workspace, document, number, chunks, model_versions)
        finally:
            self._store_with = None

    def embedder(self, model_version):
        current = getattr(self, "_store_with", None)
        if current is None:
            return super().embedder(model_version)
        embedder = super().embedder(model_version)
        return _VectorsOf(embedder, super().embedder(current))


class _VectorsOf:
    """``labelled``'s model and version, ``source``'s vectors."""

    def __init__(self, labelled, source) -> None:
        self.model, self.version, self._source = labelled.model, labelled.version, source

    def embed(self, text: str) -> list[float]:
        return self._source.embed(text)
