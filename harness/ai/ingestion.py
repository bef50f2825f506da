"""Ingestion recovery checks (S05): retries with backoff, the dead letter and its diagnostics,
a replay that runs once.

Every function takes an adapter implementing :class:`harness.ai.protocols.Ingestion` and a
workspace, drives a job through real attempts (the fault is injected through the adapter), and
returns the observations it judged, so a test can attach them; problems raise
:class:`harness.ai.failures.AiDataFailure`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from harness.ai.failures import require_no_problems
from harness.ai.protocols import IllegalTransition, Ingestion, JobStatus, NotDue

__all__ = ["DeadLetterDrive", "drive_to_dead_letter", "judge_dead_letter", "replay_once"]


def drive_to_dead_letter(adapter: Ingestion, workspace: UUID, job_id: UUID, failure_class: str,
                         extra_attempts: int = 2) -> DeadLetterDrive:
    """Fails every attempt of the job until it stops being runnable (plus ``extra_attempts``
    tries), advancing the worker clock to each retry's due time; notes each breach of the retry
    discipline (no backoff, a retry before it is due, no dead letter at the limit)."""
    seen, problems = [adapter.ingestion_job(workspace, job_id)], []
    limit = seen[0].max_attempts
    for _ in range(limit + extra_attempts):
        before = seen[-1]
        if before.state == "failed":
            try:   # a retry before its backoff elapsed must be refused
                adapter.process_ingestion(workspace, job_id, fault=failure_class)
                problems.append({"attempt": before.attempts + 1, "problem": "ran before it was due",
                                 "due": before.next_attempt_at})
            except NotDue:
                pass
        try:
            after = adapter.process_ingestion(workspace, job_id, fault=failure_class,
                                              now=before.next_attempt_at)
        except IllegalTransition:
            break
        seen.append(after)
    final = seen[-1]
    if final.state != "dead_lettered":
        problems.append({"problem": f"after {final.attempts} failed attempts the job is "
                                    f"{final.state}, not dead_lettered", "max_attempts": limit})
    if final.attempts > limit:
        problems.append({"problem": f"{final.attempts} attempts ran; the limit is {limit}"})
    delays = [(s.next_attempt_at - s.updated_at).total_seconds() for s in seen if s.state == "failed"]
    if (limit > 1 and not delays) or any(d <= 0 for d in delays) or \
            any(later <= earlier for earlier, later in zip(delays, delays[1:], strict=False)):
        problems.append({"problem": "retry delays do not grow (no backoff)", "delays_s": delays})
    return DeadLetterDrive(job_id, seen, problems)


@dataclass(frozen=True)
class DeadLetterDrive:
    """What :func:`drive_to_dead_letter` saw; :meth:`judge` raises on any problem."""

    job_id: UUID
    states: list[JobStatus]
    problems: list[dict[str, Any]]

    def judge(self) -> None:
        require_no_problems(self.problems, f"ingestion job {self.job_id} did not retry with "
                            "backoff into the dead letter", [("job states", _show(self.states))])


def judge_dead_letter(adapter: Ingestion, workspace: UUID, job_id: UUID, document_id: UUID,
                      failure_class: str) -> dict[str, Any]:
    """The dead letter names the job, its document, why it failed and each attempt."""
    letters = {d.job_id: d for d in adapter.dead_letters(workspace)}
    letter = letters.get(job_id)
    problems = []
    if letter is None:
        require_no_problems([{"problem": "the job is not in the dead letters",
                              "dead letters": list(letters)}], "no diagnostics for the job")
    if letter.document_id != document_id:
        problems.append({"problem": "the dead letter lost its document", "got": letter.document_id})
    if letter.failure_class != failure_class or not letter.last_error:
        problems.append({"problem": "failure class or last error missing",
                         "failure_class": letter.failure_class, "last_error": letter.last_error})
    if letter.attempts != letter.max_attempts or len(letter.history) != letter.attempts:
        problems.append({"problem": "attempt count and history disagree with the limit",
                         "attempts": letter.attempts, "max": letter.max_attempts,
                         "history": len(letter.history)})
    if any(h.get("failure_class") != failure_class for h in letter.history):
        problems.append({"problem": "an attempt in the history has no failure class"})
    require_no_problems(problems, f"dead letter of job {job_id} lacks its diagnostics",
                        [("dead letter", _show([letter]))])
    return asdict(letter)


def replay_once(adapter: Ingestion, workspace: UUID, job_id: UUID,
                document_id: UUID) -> dict[str, Any]:
    """A fixed job replays: it succeeds once, its chunks exist once, a second replay is refused."""
    adapter.replay_dead_letter(workspace, job_id)
    done = adapter.process_ingestion(workspace, job_id)
    chunks = adapter.document_chunks(workspace, document_id)
    problems = []
    if done.state != "succeeded":
        problems.append({"problem": f"the replayed job ended {done.state}"})
    ordinals = [(c.version_id, c.ordinal) for c in chunks]
    if not chunks or len(ordinals) != len(set(ordinals)):
        problems.append({"problem": "chunks missing or written twice", "chunks": len(chunks)})
    for again in (lambda: adapter.replay_dead_letter(workspace, job_id),
                  lambda: adapter.process_ingestion(workspace, job_id)):
        try:
            again()
            problems.append({"problem": "a succeeded job was replayed or run again"})
        except IllegalTransition:
            pass
    if len(adapter.document_chunks(workspace, document_id)) != len(chunks):
        problems.append({"problem": "a second replay wrote chunks again"})
    require_no_problems(problems, f"replay of job {job_id} did not run exactly once")
    return {"state": done.state, "chunks": len(chunks)}


def _show(rows: list) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2, default=str)
