"""What the AI-data families need from a target: three small capabilities and their records.

- ``ingestion`` (:class:`Ingestion`): submit a document, run one attempt of its ingestion job
  (optionally with an injected fault and a worker clock), read the job, the dead letters and the
  chunks, replay a dead letter.
- ``retrieval`` (:class:`Retrieval`): load a document with its chunks and embeddings, retrieve
  for a query (exact, hnsw, text or hybrid) as the app role, cite chunks and resolve citations,
  store and read evaluation and safety results.
- ``agent-runs`` (:class:`AgentRuns`): create, start, finish, fail and cancel runs, call and
  retry tools under the run's policy, read tool writes and the tool-call audit, persist
  structured outputs.

Every method acts for one workspace and runs as the app role bound to it; what a check expects
to be refused is typed (:class:`IllegalTransition`, :class:`OutputRejected`, :class:`NotDue`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

__all__ = [
    "AgentRuns", "ChunkRef", "CitationTrace", "DeadLetter", "DocumentRef", "EvalRecord", "Hit",
    "IllegalTransition", "Ingestion", "IngestionTicket", "JobStatus", "NotDue", "OutputRejected",
    "Retrieval", "RunStatus", "SafetyRecord", "StoredOutput", "ToolAuditRecord", "ToolCallResult",
    "ToolWrite",
]


class IllegalTransition(Exception):
    """The data layer refused a state change its state machine does not allow."""


class OutputRejected(Exception):
    """A structured output did not conform to its JSON Schema and was not persisted."""


class NotDue(Exception):
    """An ingestion job was asked to run before its backoff elapsed."""


# -- ingestion ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestionTicket:
    document_id: UUID
    version_id: UUID
    job_id: UUID


@dataclass(frozen=True)
class JobStatus:
    job_id: UUID
    state: str                   # queued | running | succeeded | failed | dead_lettered
    attempts: int
    max_attempts: int
    next_attempt_at: Any         # datetime
    failure_class: str | None
    last_error: str | None
    replays: int = 0
    updated_at: Any = None       # datetime of the last state change


@dataclass(frozen=True)
class DeadLetter:
    job_id: UUID
    document_id: UUID
    version_id: UUID
    attempts: int
    max_attempts: int
    failure_class: str | None
    last_error: str | None
    history: tuple[Mapping[str, Any], ...]   # one entry per attempt: outcome, class, error, backoff


@dataclass(frozen=True)
class ChunkRef:
    chunk_id: UUID
    document_id: UUID
    version_id: UUID
    ordinal: int
    content: str


@runtime_checkable
class Ingestion(Protocol):
    def submit_document(self, workspace: UUID, title: str, body: str,
                        source_uri: str = "") -> IngestionTicket: ...

    def process_ingestion(self, workspace: UUID, job_id: UUID, *, fault: str | None = None,
                          now: Any = None) -> JobStatus: ...

    def ingestion_job(self, workspace: UUID, job_id: UUID) -> JobStatus: ...

    def dead_letters(self, workspace: UUID) -> list[DeadLetter]: ...

    def replay_dead_letter(self, workspace: UUID, job_id: UUID) -> JobStatus: ...

    def document_chunks(self, workspace: UUID, document_id: UUID) -> list[ChunkRef]: ...


# -- retrieval ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentRef:
    document_id: UUID
    version_id: UUID
    chunk_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class Hit:
    chunk_id: UUID
    document_id: UUID
    version_id: UUID
    workspace_id: UUID
    model_version: str
    score: float


@dataclass(frozen=True)
class CitationTrace:
    citation_id: UUID
    chunk_id: UUID
    document_id: UUID
    version_id: UUID
    version_no: int
    chunk_content: str
    quote: str


@dataclass(frozen=True)
class EvalRecord:
    suite: str
    metric: str
    value: float
    model: str
    model_version: str
    prompt_version: str
    dataset_version: str = ""


@dataclass(frozen=True)
class SafetyRecord:
    category: str
    verdict: str                 # pass | flag | block
    model: str
    model_version: str
    prompt_version: str
    score: float | None = None


@runtime_checkable
class Retrieval(Protocol):
    def embedding_versions(self) -> tuple[str, ...]: ...

    def load_document(self, workspace: UUID, title: str, chunks: Sequence[str],
                      model_versions: Sequence[str] = ("1",)) -> DocumentRef: ...

    def add_version(self, workspace: UUID, document_id: UUID, chunks: Sequence[str],
                    model_versions: Sequence[str] = ("1",)) -> DocumentRef: ...

    def retrieve(self, workspace: UUID, query: str, k: int = 10, mode: str = "hybrid",
                 model_version: str | None = None,
                 settings: Mapping[str, str] | None = None) -> list[Hit]: ...

    def cite(self, workspace: UUID, chunk_id: UUID, quote: str) -> UUID: ...

    def resolve_citation(self, workspace: UUID, citation_id: UUID) -> CitationTrace: ...

    def record_eval(self, workspace: UUID, record: EvalRecord) -> UUID: ...

    def record_safety(self, workspace: UUID, record: SafetyRecord) -> UUID: ...

    def eval_history(self, workspace: UUID, metric: str) -> list[EvalRecord]: ...

    def safety_history(self, workspace: UUID) -> list[SafetyRecord]: ...


# -- agent runs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStatus:
    run_id: UUID
    state: str                   # pending | running | succeeded | failed | cancelled
    failure_class: str | None


@dataclass(frozen=True)
class ToolCallResult:
    tool_call_id: UUID
    state: str                   # requested | succeeded | failed | refused
    failure_class: str | None
    attempts: int


@dataclass(frozen=True)
class ToolWrite:
    tool_call_id: UUID
    body: str


@dataclass(frozen=True)
class ToolAuditRecord:
    tool_call_id: UUID
    run_id: UUID
    workspace_id: UUID
    tool: str
    outcome: str
    failure_class: str | None


@dataclass(frozen=True)
class StoredOutput:
    run_id: UUID
    schema_name: str
    json_schema: Mapping[str, Any]
    output: Any
    prompt_version: str
    model_version: str


@runtime_checkable
class AgentRuns(Protocol):
    def create_run(self, workspace: UUID, agent: str, tools: Sequence[str], prompt_version: str,
                   model_version: str) -> UUID: ...

    def start_run(self, workspace: UUID, run_id: UUID) -> RunStatus: ...

    def finish_run(self, workspace: UUID, run_id: UUID) -> RunStatus: ...

    def fail_run(self, workspace: UUID, run_id: UUID, failure_class: str, error: str) -> RunStatus: ...

    def cancel_run(self, workspace: UUID, run_id: UUID) -> RunStatus: ...

    def run_status(self, workspace: UUID, run_id: UUID) -> RunStatus: ...

    def call_tool(self, workspace: UUID, run_id: UUID, tool: str, arguments: Mapping[str, Any],
                  idempotency_key: str, *, fail: bool = False) -> ToolCallResult: ...

    def retry_tool_call(self, workspace: UUID, run_id: UUID, tool_call_id: UUID, *,
                        fail: bool = False) -> ToolCallResult: ...

    def tool_writes(self, workspace: UUID, run_id: UUID) -> list[ToolWrite]: ...

    def tool_audit(self, workspace: UUID, run_id: UUID) -> list[ToolAuditRecord]: ...

    def record_output(self, workspace: UUID, run_id: UUID, schema_name: str,
                      json_schema: Mapping[str, Any], output: Any) -> UUID: ...

    def run_outputs(self, workspace: UUID) -> list[StoredOutput]: ...
