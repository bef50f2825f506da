"""Retrieval, citations and quality telemetry: the reference's ``retrieval`` capability.

Documents are loaded with their chunks and embedded with the deterministic local embedder
(:mod:`reference_impl.ai.embedder`), one row per chunk and model version. Retrieval is one call
of the SQL function ``retrieve_chunks`` as the app role bound to the workspace: RLS decides what
it may see, never a ``WHERE`` the caller remembered to write. Citations, evaluation and safety
results are plain tenant rows carrying the versions they refer to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from harness.ai.protocols import CitationTrace, DocumentRef, EvalRecord, Hit, SafetyRecord
from reference_impl.ai.embedder import HashedNgramEmbedder, vector_literal
from reference_impl.ai.ingestion import insert_chunks
from reference_impl.connections import AppConnections

MODES = ("exact", "hnsw", "text", "hybrid")


class RetrievalOperations(AppConnections):
    """The ``retrieval`` capability (harness.ai.protocols.Retrieval)."""

    def embedding_versions(self) -> tuple[str, ...]:
        """The versions this target embeds with, the current one first (each has its HNSW index)."""
        return ("1", "2")

    def embedder(self, model_version: str) -> HashedNgramEmbedder:
        return HashedNgramEmbedder(version=model_version)

    def load_document(self, workspace: UUID, title: str, chunks: Sequence[str],
                      model_versions: Sequence[str] = ("1",)) -> DocumentRef:
        with self.in_workspace(workspace) as conn:
            document = conn.execute("insert into documents (workspace_id, title) values (%s, %s) "
                                    "returning document_id", (workspace, title)).fetchone()[0]
            return self._add_version(conn, workspace, document, 1, chunks, model_versions)

    def add_version(self, workspace: UUID, document_id: UUID, chunks: Sequence[str],
                    model_versions: Sequence[str] = ("1",)) -> DocumentRef:
        with self.in_workspace(workspace) as conn:
            number = conn.execute("select coalesce(max(version_no), 0) + 1 from document_versions "
                                  "where document_id = %s", (document_id,)).fetchone()[0]
            return self._add_version(conn, workspace, document_id, number, chunks, model_versions)

    def retrieve(self, workspace: UUID, query: str, k: int = 10, mode: str = "hybrid",
                 model_version: str | None = None,
                 settings: Mapping[str, str] | None = None) -> list[Hit]:
        version = model_version or self.embedding_versions()[0]
        vector = vector_literal(self.embedder(version).embed(query))
        with self.in_workspace(workspace) as conn:
            for name, value in (settings or {}).items():
                conn.execute("select set_config(%s, %s, true)", (name, str(value)))
            rows = conn.execute(
                "select chunk_id, document_id, version_id, workspace_id, model_version, score "
                "from retrieve_chunks(%s::vector, %s, %s, %s, %s, %s)",
                (vector, query, self.embedder(version).model, version, k, mode)).fetchall()
        return [Hit(*r) for r in rows]

    def cite(self, workspace: UUID, chunk_id: UUID, quote: str) -> UUID:
        """A citation of ``chunk_id``; its document and version are the chunk's own, as stored."""
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "insert into citations (workspace_id, chunk_id, document_id, version_id, quote) "
                "select %s, c.chunk_id, c.document_id, c.version_id, %s from chunks c "
                "where c.chunk_id = %s returning citation_id", (workspace, quote, chunk_id)).fetchone()
        if row is None:
            raise LookupError(f"chunk {chunk_id} is not visible in workspace {workspace}")
        return row[0]

    def resolve_citation(self, workspace: UUID, citation_id: UUID) -> CitationTrace:
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "select ci.citation_id, c.chunk_id, d.document_id, v.version_id, v.version_no, "
                "c.content, ci.quote from citations ci "
                "join chunks c on c.workspace_id = ci.workspace_id and c.chunk_id = ci.chunk_id "
                "join document_versions v on v.workspace_id = ci.workspace_id "
                " and v.version_id = ci.version_id and v.document_id = ci.document_id "
                "join documents d on d.workspace_id = ci.workspace_id and d.document_id = ci.document_id "
                "where ci.citation_id = %s", (citation_id,)).fetchone()
        if row is None:
            raise LookupError(f"citation {citation_id} does not resolve in workspace {workspace}")
        return CitationTrace(*row)

    def record_eval(self, workspace: UUID, record: EvalRecord) -> UUID:
        with self.in_workspace(workspace) as conn:
            return conn.execute(
                "insert into eval_results (workspace_id, suite, metric, value, model, model_version, "
                "prompt_version, dataset_version) values (%s, %s, %s, %s, %s, %s, %s, %s) "
                "returning eval_id", (workspace, record.suite, record.metric, record.value, record.model,
                                      record.model_version, record.prompt_version,
                                      record.dataset_version)).fetchone()[0]

    def record_safety(self, workspace: UUID, record: SafetyRecord) -> UUID:
        with self.in_workspace(workspace) as conn:
            return conn.execute(
                "insert into safety_results (workspace_id, category, verdict, score, model, "
                "model_version, prompt_version) values (%s, %s, %s, %s, %s, %s, %s) "
                "returning safety_id", (workspace, record.category, record.verdict, record.score,
                                        record.model, record.model_version,
                                        record.prompt_version)).fetchone()[0]

    def eval_history(self, workspace: UUID, metric: str) -> list[EvalRecord]:
        with self.in_workspace(workspace) as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "select suite, metric, value, model, model_version, prompt_version, dataset_version "
                "from eval_results where metric = %s order by created_at, eval_id", (metric,)).fetchall()
        return [EvalRecord(**r) for r in rows]

    def safety_history(self, workspace: UUID) -> list[SafetyRecord]:
        with self.in_workspace(workspace) as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "select category, verdict, model, model_version, prompt_version, score "
                "from safety_results order by created_at, safety_id").fetchall()
        return [SafetyRecord(**r) for r in rows]

    # -- internals ---------------------------------------------------------------------------
    def _add_version(self, conn: psycopg.Connection, workspace: UUID, document: UUID, number: int,
                     chunks: Sequence[str], model_versions: Sequence[str]) -> DocumentRef:
        body = "\n\n".join(chunks)
        version = conn.execute(
            "insert into document_versions (workspace_id, document_id, version_no, source_hash, body) "
            "values (%s, %s, %s, %s, %s) returning version_id",
            (workspace, document, number, hashlib.sha256(body.encode()).hexdigest(), body)).fetchone()[0]
        ids = insert_chunks(conn, workspace, document, version, list(chunks),
                            [self.embedder(v) for v in model_versions])
        return DocumentRef(document, version, tuple(ids))
