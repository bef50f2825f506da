"""Ingestion: documents in, versions and chunks out, through a job that retries and dead-letters.

A submitted document gets its first version and a queued job. Each call of
:meth:`IngestionOperations.process_ingestion` is one worker attempt: claim the job (queued or
failed, and due), chunk and embed the version in one transaction, then mark it succeeded; if the
attempt fails its writes roll back and the job is marked failed with a failure class, which the
database turns into a retry with exponential backoff or, once ``max_attempts`` are spent, a dead
letter. ``fault`` is the harness's fault injection point: the attempt fails with that class after
writing part of its chunks.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from harness.ai.protocols import (
    ChunkRef,
    DeadLetter,
    IllegalTransition,
    IngestionTicket,
    JobStatus,
    NotDue,
)
from reference_impl.ai.embedder import HashedNgramEmbedder, vector_literal
from reference_impl.connections import AppConnections

CHUNK_WORDS = 60
_JOB = ("select job_id, state, attempts, max_attempts, next_attempt_at, failure_class, last_error, "
        "replays, updated_at from ingestion_jobs where job_id = %s")


class IngestionFault(Exception):
    def __init__(self, failure_class: str, message: str) -> None:
        super().__init__(message)
        self.failure_class = failure_class


def split_into_chunks(body: str, words: int = CHUNK_WORDS) -> list[str]:
    """Paragraphs, each cut into pieces of at most ``words`` words."""
    chunks = []
    for paragraph in (p.split() for p in body.split("\n\n")):
        chunks += [" ".join(paragraph[i:i + words]) for i in range(0, len(paragraph), words)]
    return [c for c in chunks if c]


def insert_chunks(conn: psycopg.Connection, workspace: UUID, document_id: UUID, version_id: UUID,
                  texts: list[str], embedders: list[HashedNgramEmbedder]) -> list[UUID]:
    ids = []
    for ordinal, text in enumerate(texts):
        chunk = conn.execute(
            "insert into chunks (workspace_id, document_id, version_id, ordinal, content) "
            "values (%s, %s, %s, %s, %s) returning chunk_id",
            (workspace, document_id, version_id, ordinal, text)).fetchone()[0]
        ids.append(chunk)
    with conn.cursor() as cur:
        cur.executemany(
            "insert into chunk_embeddings (workspace_id, chunk_id, model, model_version, embedding) "
            "values (%s, %s, %s, %s, %s::vector)",
            [(workspace, chunk, e.model, e.version, vector_literal(e.embed(text)))
             for e in embedders for chunk, text in zip(ids, texts, strict=True)])
    return ids


class IngestionOperations(AppConnections):
    """The ``ingestion`` capability (harness.ai.protocols.Ingestion)."""

    def submit_document(self, workspace: UUID, title: str, body: str,
                        source_uri: str = "") -> IngestionTicket:
        with self.in_workspace(workspace) as conn:
            document = conn.execute(
                "insert into documents (workspace_id, title, source_uri) values (%s, %s, %s) "
                "returning document_id", (workspace, title, source_uri)).fetchone()[0]
            version = conn.execute(
                "insert into document_versions (workspace_id, document_id, version_no, source_hash, body) "
                "values (%s, %s, 1, %s, %s) returning version_id",
                (workspace, document, hashlib.sha256(body.encode()).hexdigest(), body)).fetchone()[0]
            job = conn.execute(
                "insert into ingestion_jobs (workspace_id, document_id, version_id) values (%s, %s, %s) "
                "returning job_id", (workspace, document, version)).fetchone()[0]
        return IngestionTicket(document, version, job)

    def process_ingestion(self, workspace: UUID, job_id: UUID, *, fault: str | None = None,
                          now: Any = None) -> JobStatus:
        with self.in_workspace(workspace) as conn:
            job = self._job(conn, job_id, lock=True)
            if job.state not in ("queued", "failed"):
                raise IllegalTransition(f"ingestion job {job_id} is {job.state}: nothing to run")
            early = conn.execute("select %s > coalesce(%s::timestamptz, now())",
                                 (job.next_attempt_at, now)).fetchone()[0]
            if early:
                raise NotDue(f"ingestion job {job_id} is due at {job.next_attempt_at}")
            conn.execute("update ingestion_jobs set state = 'running' where job_id = %s", (job_id,))
        try:
            with self.in_workspace(workspace) as conn:
                self._ingest(conn, workspace, job_id, fault)
                conn.execute("update ingestion_jobs set state = 'succeeded', failure_class = null, "
                             "last_error = null where job_id = %s", (job_id,))
        except IngestionFault as failure:
            with self.in_workspace(workspace) as conn:
                conn.execute("update ingestion_jobs set state = 'failed', failure_class = %s, "
                             "last_error = %s where job_id = %s",
                             (failure.failure_class, str(failure), job_id))
        with self.in_workspace(workspace) as conn:
            return self._job(conn, job_id)

    def ingestion_job(self, workspace: UUID, job_id: UUID) -> JobStatus:
        with self.in_workspace(workspace) as conn:
            return self._job(conn, job_id)

    def dead_letters(self, workspace: UUID) -> list[DeadLetter]:
        with self.in_workspace(workspace) as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "select job_id, document_id, version_id, attempts, max_attempts, failure_class, "
                "last_error, coalesce(history, '[]'::jsonb) as history from ingestion_dead_letters "
                "order by dead_lettered_at, job_id").fetchall()
        return [DeadLetter(**{**r, "history": tuple(r["history"])}) for r in rows]

    def replay_dead_letter(self, workspace: UUID, job_id: UUID) -> JobStatus:
        try:
            with self.in_workspace(workspace) as conn:
                conn.execute("update ingestion_jobs set state = 'queued' where job_id = %s", (job_id,))
        except psycopg.errors.CheckViolation as err:
            raise IllegalTransition(str(err).splitlines()[0]) from err
        return self.ingestion_job(workspace, job_id)

    def document_chunks(self, workspace: UUID, document_id: UUID) -> list[ChunkRef]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select chunk_id, document_id, version_id, ordinal, content from chunks "
                                "where document_id = %s order by version_id, ordinal",
                                (document_id,)).fetchall()
        return [ChunkRef(*r) for r in rows]

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _job(conn: psycopg.Connection, job_id: UUID, lock: bool = False) -> JobStatus:
        row = conn.execute(_JOB + (" for update" if lock else ""), (job_id,)).fetchone()
        if row is None:
            raise LookupError(f"no ingestion job {job_id} in the bound workspace")
        return JobStatus(*row)

    def _ingest(self, conn: psycopg.Connection, workspace: UUID, job_id: UUID,
                fault: str | None) -> None:
        document, version, body = conn.execute(
            "select j.document_id, j.version_id, v.body from ingestion_jobs j join document_versions v "
            "on v.workspace_id = j.workspace_id and v.version_id = j.version_id where j.job_id = %s",
            (job_id,)).fetchone()
        texts = split_into_chunks(body)
        if fault is not None:
            insert_chunks(conn, workspace, document, version, texts[:1], [HashedNgramEmbedder()])
            raise IngestionFault(fault, f"injected {fault} after {min(len(texts), 1)} chunk(s)")
        insert_chunks(conn, workspace, document, version, texts, [HashedNgramEmbedder()])
