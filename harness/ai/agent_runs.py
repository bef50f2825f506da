"""Agent run and tool-call checks (S06): the state machine, idempotent tool writes, the run's tool
policy, the audit trail, rollback of a failed run and schema-conformant outputs.

Plain functions over an adapter implementing :class:`harness.ai.protocols.AgentRuns`; each
returns its observations (``passed`` judged on each) so a test can attach them and fail once
with every problem (:func:`harness.ai.failures.require_no_problems`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID, uuid4

import jsonschema

from harness.ai.protocols import AgentRuns, IllegalTransition, OutputRejected

__all__ = ["OPERATIONS", "STATES", "WRITE_TOOL", "audit_observations", "idempotency_observations",
           "observed_state", "policy_observations", "reach", "rollback_observations",
           "schema_observations", "transition_holds", "transition_observations"]

STATES = ("pending", "running", "succeeded", "failed", "cancelled")
# operation -> {from state: to state}; everything else must be refused
OPERATIONS: dict[str, dict[str, str]] = {
    "start": {"pending": "running"},
    "finish": {"running": "succeeded"},
    "fail": {"running": "failed"},
    "cancel": {"pending": "cancelled", "running": "cancelled"},
}
WRITE_TOOL = "write_note"      # the tool with an effect: one note per successful call
READ_TOOL = "search"
VERSIONS = {"prompt_version": "triage-prompt@3", "model_version": "2026-10"}


def operate(adapter: AgentRuns, workspace: UUID, run: UUID, operation: str) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "start": lambda: adapter.start_run(workspace, run),
        "finish": lambda: adapter.finish_run(workspace, run),
        "fail": lambda: adapter.fail_run(workspace, run, "tool_error", "the tool timed out"),
        "cancel": lambda: adapter.cancel_run(workspace, run),
    }
    calls[operation]()


def reach(adapter: AgentRuns, workspace: UUID, state: str,
          tools: tuple[str, ...] = (WRITE_TOOL, READ_TOOL)) -> UUID:
    """A new run in ``state``, reached through legal operations only."""
    run = adapter.create_run(workspace, "triage", tools, **VERSIONS)
    path = {"pending": [], "running": ["start"], "succeeded": ["start", "finish"],
            "failed": ["start", "fail"], "cancelled": ["cancel"]}[state]
    for operation in path:
        operate(adapter, workspace, run, operation)
    return run


def transition_observations(adapter: AgentRuns, workspace: UUID) -> list[dict[str, Any]]:
    """Every operation from every state: allowed ones land where the machine says, the rest are
    refused and leave the run where it was."""
    observations = []
    for state in STATES:
        for operation, moves in OPERATIONS.items():
            run = reach(adapter, workspace, state)
            expected = moves.get(state)
            try:
                operate(adapter, workspace, run, operation)
                outcome = "allowed"
            except IllegalTransition:
                outcome = "refused"
            except Exception as exc:  # neither allowed nor refused: the target's failure, recorded
                outcome = f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            after = observed_state(adapter, workspace, run)
            wanted = expected or state
            observations.append({"from": state, "operation": operation, "outcome": outcome,
                                 "state after": after, "expected": wanted,
                                 "passed": transition_holds(expected, outcome, after, state)})
    return observations


def observed_state(adapter: AgentRuns, workspace: UUID, run: UUID) -> str:
    """The run's state as the target reports it; a report that cannot be read is recorded as
    such (a failure of the target), never raised."""
    try:
        state = adapter.run_status(workspace, run).state
    except Exception as exc:
        return f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    return state if isinstance(state, str) else f"unreadable ({state!r})"


def transition_holds(expected: str | None, outcome: str, after: str, before: str) -> bool:
    """The machine's verdict on one operation: an allowed move lands where :data:`OPERATIONS`
    says, any other is refused (IllegalTransition) and leaves the run where it was."""
    if expected is None:
        return outcome == "refused" and after == before
    return outcome == "allowed" and after == expected


def idempotency_observations(adapter: AgentRuns, workspace: UUID, retries: int = 3) -> list[dict[str, Any]]:
    """A write call that times out, is retried until it succeeds and retried again after, and a
    replay of the same request: exactly one write."""
    run = reach(adapter, workspace, "running")
    key = f"note-{uuid4()}"
    first = adapter.call_tool(workspace, run, WRITE_TOOL, {"body": "summary"}, key, fail=True)
    results = [first]
    for attempt in range(retries):
        results.append(adapter.retry_tool_call(workspace, run, first.tool_call_id,
                                               fail=attempt == 0))
    replay = adapter.call_tool(workspace, run, WRITE_TOOL, {"body": "summary"}, key)
    writes = adapter.tool_writes(workspace, run)
    states = [r.state for r in results]
    attempts = [r.attempts for r in (*results, replay)]
    # each execution counts one attempt: 1 for the call, +1 per retry that ran (the two after
    # a failure), nothing for a retry or replay of a call that already succeeded
    expected_attempts = [1, 2, 3, *[3] * (retries - 2), 3]
    problems = []
    if len(writes) != 1:
        problems.append(f"{len(writes)} writes for one idempotency key")
    if attempts != expected_attempts:
        problems.append(f"attempts {attempts}, expected {expected_attempts}")
    return [{"call states": states, "replay state": replay.state, "attempts": attempts,
             "replay is the same call": replay.tool_call_id == first.tool_call_id,
             "writes": len(writes), "passed": not problems and states[-1] == "succeeded",
             "problem": "; ".join(problems) or None}]


def policy_observations(adapter: AgentRuns, a: UUID, b: UUID) -> list[dict[str, Any]]:
    """Calls outside the run's policy or workspace: refused, audited as refused, nothing written."""
    run = reach(adapter, a, "running", tools=(READ_TOOL,))
    finished = reach(adapter, a, "succeeded")
    cases = [
        ("tool not granted to the run", a, run, {"body": "x"}),
        ("arguments aimed at another workspace", a, run, {"workspace_id": str(b), "body": "x"}),
        ("run already finished", a, finished, {"body": "x"}),
    ]
    observations = []
    for case, workspace, target, arguments in cases:
        tool = WRITE_TOOL if case != "arguments aimed at another workspace" else READ_TOOL
        result = adapter.call_tool(workspace, target, tool, arguments, f"k-{uuid4()}")
        audit = [r for r in adapter.tool_audit(workspace, target) if r.tool_call_id == result.tool_call_id]
        writes = adapter.tool_writes(workspace, target)
        passed = result.state == "refused" and any(r.outcome == "refused" for r in audit) and not writes
        observations.append({"case": case, "state": result.state, "audited": [r.outcome for r in audit],
                             "writes": len(writes), "passed": passed})
    try:   # bound to B, A's run does not exist: nothing may be written anywhere
        adapter.call_tool(b, run, WRITE_TOOL, {"body": "x"}, f"k-{uuid4()}")
        refused = False
    except LookupError:
        refused = True
    writes = len(adapter.tool_writes(a, run)) + len(adapter.tool_writes(b, run))
    observations.append({"case": "call on another workspace's run", "refused": refused,
                         "writes": writes, "passed": refused and writes == 0})
    return observations


def rollback_observations(adapter: AgentRuns, workspace: UUID, writes: int = 3) -> list[dict[str, Any]]:
    """A run that writes, then fails: its writes are gone and its failure class is recorded."""
    run = reach(adapter, workspace, "running")
    for n in range(writes):
        adapter.call_tool(workspace, run, WRITE_TOOL, {"body": f"partial {n}"}, f"w-{n}")
    before = len(adapter.tool_writes(workspace, run))
    status = adapter.fail_run(workspace, run, "tool_error", "the third tool call timed out")
    after = len(adapter.tool_writes(workspace, run))
    audit = len(adapter.tool_audit(workspace, run))
    passed = before == writes and after == 0 and status.state == "failed" \
        and status.failure_class == "tool_error" and audit >= writes
    return [{"writes before": before, "writes after": after, "state": status.state,
             "failure class": status.failure_class, "audit rows kept": audit, "passed": passed}]


def schema_observations(adapter: AgentRuns, workspace: UUID,
                        schemas: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Valid outputs are stored, invalid ones refused; every stored output of the workspace
    conforms to the schema stored with it and carries its run's prompt and model versions."""
    run = reach(adapter, workspace, "running")
    observations = []
    for name, entry in schemas.items():
        for kind in ("valid", "invalid"):
            for output in entry[kind]:
                try:
                    adapter.record_output(workspace, run, name, entry["schema"], output)
                    stored = True
                except OutputRejected:
                    stored = False
                observations.append({"schema": name, "output": output, "kind": kind,
                                     "stored": stored, "passed": stored == (kind == "valid")})
    expected = sum(len(e["valid"]) for e in schemas.values())
    outputs = [o for o in adapter.run_outputs(workspace) if o.run_id == run]
    for stored in outputs:
        errors = [e.message for e in jsonschema.Draft202012Validator(dict(stored.json_schema))
                  .iter_errors(stored.output)]
        versions = {"prompt_version": stored.prompt_version, "model_version": stored.model_version}
        observations.append({"stored output": stored.output, "schema errors": errors,
                             "versions": versions, "passed": not errors and versions == VERSIONS})
    observations.append({"stored outputs": len(outputs), "expected": expected,
                         "passed": len(outputs) == expected})
    return observations


def audit_observations(adapter: AgentRuns, workspace: UUID) -> list[dict[str, Any]]:
    """Calls that succeed, fail, are refused and are retried: each has audit rows naming its run
    and workspace, the last of which is its final outcome."""
    run = reach(adapter, workspace, "running", tools=(WRITE_TOOL, READ_TOOL))
    final = {}
    ok = adapter.call_tool(workspace, run, WRITE_TOOL, {"body": "ok"}, "a-ok")
    failed = adapter.call_tool(workspace, run, READ_TOOL, {}, "a-fail", fail=True)
    refused = adapter.call_tool(workspace, run, "delete_workspace", {}, "a-refused")
    retried = adapter.call_tool(workspace, run, WRITE_TOOL, {"body": "retried"}, "a-retry", fail=True)
    retried = adapter.retry_tool_call(workspace, run, retried.tool_call_id)
    for result in (ok, failed, refused, retried):
        final[result.tool_call_id] = result.state
    audit = adapter.tool_audit(workspace, run)
    observations = []
    for call, state in final.items():
        rows = [r for r in audit if r.tool_call_id == call]
        passed = bool(rows) and rows[-1].outcome == state and all(
            r.run_id == run and r.workspace_id == workspace for r in rows)
        observations.append({"tool call": call, "final state": state,
                             "audited outcomes": [r.outcome for r in rows], "passed": passed})
    return observations
