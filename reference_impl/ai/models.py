"""SQLAlchemy models of the AI data tables (revision 0007_ai_data; the migration owns the schema).

Every table is keyed by ``workspace_id`` first, and every reference is a composite foreign key
that carries it, so the models say the same as the migration: nothing points across workspaces.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Computed,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from reference_impl.ai.embedder import DIMENSIONS
from reference_impl.models import Base


def _workspace() -> Mapped[uuid.UUID]:
    return mapped_column(UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID, primary_key=True, server_default=text("gen_random_uuid()"))


def _now() -> Mapped[datetime]:
    return mapped_column(server_default=text("now()"))


def _refs(columns: list[str], table: str, targets: list[str], name: str,
          cascade: bool = True) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["workspace_id", *columns],
                                [f"{table}.workspace_id", *(f"{table}.{t}" for t in targets)],
                                name=name, ondelete="CASCADE" if cascade else None)


class Document(Base):
    __tablename__ = "documents"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    document_id: Mapped[uuid.UUID] = _id()
    title: Mapped[str] = mapped_column(Text)
    source_uri: Mapped[str] = mapped_column(Text, server_default="")
    intake: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _now()


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (_refs(["document_id"], "documents", ["document_id"], "document_versions_document_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    version_id: Mapped[uuid.UUID] = _id()
    document_id: Mapped[uuid.UUID] = mapped_column(UUID)
    version_no: Mapped[int] = mapped_column(Integer)
    source_hash: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (_refs(["document_id", "version_id"], "document_versions",
                            ["document_id", "version_id"], "chunks_version_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    chunk_id: Mapped[uuid.UUID] = _id()
    document_id: Mapped[uuid.UUID] = mapped_column(UUID)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID)
    ordinal: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed("to_tsvector('english', content)"))


class ChunkEmbedding(Base):
    __tablename__ = "chunk_embeddings"
    __table_args__ = (_refs(["chunk_id"], "chunks", ["chunk_id"], "chunk_embeddings_chunk_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    chunk_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    model: Mapped[str] = mapped_column(Text, primary_key=True)
    model_version: Mapped[str] = mapped_column(Text, primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(DIMENSIONS))
    created_at: Mapped[datetime] = _now()


class IngestionJob(Base):
    __tablename__ = "ingestion_jobs"
    __table_args__ = (_refs(["document_id", "version_id"], "document_versions",
                            ["document_id", "version_id"], "ingestion_jobs_version_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    job_id: Mapped[uuid.UUID] = _id()
    document_id: Mapped[uuid.UUID] = mapped_column(UUID)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID)
    state: Mapped[str] = mapped_column(Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    backoff_base_seconds: Mapped[Decimal] = mapped_column(Numeric, server_default="2")
    next_attempt_at: Mapped[datetime] = _now()
    failure_class: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    replays: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class IngestionAttempt(Base):
    __tablename__ = "ingestion_attempts"
    __table_args__ = (_refs(["job_id"], "ingestion_jobs", ["job_id"], "ingestion_attempts_job_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    attempt_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID)
    replay_no: Mapped[int] = mapped_column(Integer, server_default="0")
    attempt_no: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    failure_class: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    backoff_seconds: Mapped[Decimal | None] = mapped_column(Numeric)
    finished_at: Mapped[datetime] = _now()


class AgentRun(Base):
    __tablename__ = "agent_runs"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    run_id: Mapped[uuid.UUID] = _id()
    agent: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    failure_class: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column()


class AgentRunTool(Base):
    __tablename__ = "agent_run_tools"
    __table_args__ = (_refs(["run_id"], "agent_runs", ["run_id"], "agent_run_tools_run_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tool: Mapped[str] = mapped_column(Text, primary_key=True)


class ToolCall(Base):
    __tablename__ = "tool_calls"
    __table_args__ = (_refs(["run_id"], "agent_runs", ["run_id"], "tool_calls_run_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    tool_call_id: Mapped[uuid.UUID] = _id()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID)
    tool: Mapped[str] = mapped_column(Text)
    arguments: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    idempotency_key: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="requested")
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    failure_class: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()


class ToolCallAudit(Base):
    __tablename__ = "tool_call_audit"
    __table_args__ = (_refs(["tool_call_id"], "tool_calls", ["tool_call_id"], "tool_call_audit_call_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    audit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tool_call_id: Mapped[uuid.UUID] = mapped_column(UUID)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID)
    tool: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    failure_class: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = _now()


class AgentNote(Base):
    __tablename__ = "agent_notes"
    __table_args__ = (_refs(["run_id"], "agent_runs", ["run_id"], "agent_notes_run_fk"),
                      _refs(["tool_call_id"], "tool_calls", ["tool_call_id"], "agent_notes_call_fk"))
    workspace_id: Mapped[uuid.UUID] = _workspace()
    note_id: Mapped[uuid.UUID] = _id()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID)
    tool_call_id: Mapped[uuid.UUID] = mapped_column(UUID)
    body: Mapped[str] = mapped_column(Text)


class AgentOutput(Base):
    __tablename__ = "agent_outputs"
    __table_args__ = (_refs(["run_id"], "agent_runs", ["run_id"], "agent_outputs_run_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    output_id: Mapped[uuid.UUID] = _id()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID)
    schema_name: Mapped[str] = mapped_column(Text)
    json_schema: Mapped[dict] = mapped_column(JSONB)
    output: Mapped[Any] = mapped_column(JSONB)
    prompt_version: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class Citation(Base):
    __tablename__ = "citations"
    __table_args__ = (_refs(["chunk_id", "document_id", "version_id"], "chunks",
                            ["chunk_id", "document_id", "version_id"], "citations_chunk_fk"),
                      _refs(["run_id"], "agent_runs", ["run_id"], "citations_run_fk"))
    workspace_id: Mapped[uuid.UUID] = _workspace()
    citation_id: Mapped[uuid.UUID] = _id()
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    chunk_id: Mapped[uuid.UUID] = mapped_column(UUID)
    document_id: Mapped[uuid.UUID] = mapped_column(UUID)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID)
    quote: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class CitationFeedback(Base):
    __tablename__ = "citation_feedback"
    __table_args__ = (_refs(["citation_id"], "citations", ["citation_id"], "citation_feedback_citation_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    feedback_id: Mapped[uuid.UUID] = _id()
    citation_id: Mapped[uuid.UUID] = mapped_column(UUID)
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = _now()


class EvalResult(Base):
    __tablename__ = "eval_results"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    eval_id: Mapped[uuid.UUID] = _id()
    suite: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(Text)
    dataset_version: Mapped[str] = mapped_column(Text, server_default="")
    details: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _now()


class SafetyResult(Base):
    __tablename__ = "safety_results"
    __table_args__ = (_refs(["run_id"], "agent_runs", ["run_id"], "safety_results_run_fk"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    safety_id: Mapped[uuid.UUID] = _id()
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    category: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
