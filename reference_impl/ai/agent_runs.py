"""Agent runs and tool calls: the reference's ``agent-runs`` capability.

The database owns the rules (revision 0007_ai_data): the run and tool-call state machines, the
run's tool policy (which tools, which workspace), the audit row per tool call and the rollback
of a failed run's tool writes. This layer adds what a service does around them: the idempotency
key (a retried call with the same key returns the stored call and writes nothing again), the one
tool with an effect (``write_note``), and JSON Schema validation of structured outputs before
they are stored (``jsonschema``, Draft 2020-12).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import jsonschema
import psycopg
from psycopg.types.json import Jsonb

from harness.ai.protocols import (
    IllegalTransition,
    OutputRejected,
    RunStatus,
    StoredOutput,
    ToolAuditRecord,
    ToolCallResult,
    ToolWrite,
)
from reference_impl.connections import AppConnections

_CALL = "select tool_call_id, state, failure_class, attempts from tool_calls"


class AgentRunOperations(AppConnections):
    """The ``agent-runs`` capability (harness.ai.protocols.AgentRuns)."""

    def create_run(self, workspace: UUID, agent: str, tools: Sequence[str], prompt_version: str,
                   model_version: str, model: str = "reference-agent") -> UUID:
        with self.in_workspace(workspace) as conn:
            run = conn.execute(
                "insert into agent_runs (workspace_id, agent, prompt_version, model, model_version) "
                "values (%s, %s, %s, %s, %s) returning run_id",
                (workspace, agent, prompt_version, model, model_version)).fetchone()[0]
            for tool in tools:
                conn.execute("insert into agent_run_tools (workspace_id, run_id, tool) values (%s, %s, %s)",
                             (workspace, run, tool))
        return run

    def start_run(self, workspace: UUID, run_id: UUID) -> RunStatus:
        return self._move(workspace, run_id, "running")

    def finish_run(self, workspace: UUID, run_id: UUID) -> RunStatus:
        return self._move(workspace, run_id, "succeeded")

    def fail_run(self, workspace: UUID, run_id: UUID, failure_class: str, error: str) -> RunStatus:
        return self._move(workspace, run_id, "failed", failure_class, error)

    def cancel_run(self, workspace: UUID, run_id: UUID) -> RunStatus:
        return self._move(workspace, run_id, "cancelled")

    def run_status(self, workspace: UUID, run_id: UUID) -> RunStatus:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select run_id, state, failure_class from agent_runs where run_id = %s",
                               (run_id,)).fetchone()
        if row is None:
            raise LookupError(f"no agent run {run_id} in workspace {workspace}")
        return RunStatus(*row)

    def call_tool(self, workspace: UUID, run_id: UUID, tool: str, arguments: Mapping[str, Any],
                  idempotency_key: str, *, fail: bool = False) -> ToolCallResult:
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "insert into tool_calls (workspace_id, run_id, tool, arguments, idempotency_key) "
                "select %s, run_id, %s, %s, %s from agent_runs where run_id = %s "
                "on conflict (workspace_id, run_id, idempotency_key) do nothing "
                "returning tool_call_id, state, failure_class, attempts",
                (workspace, tool, Jsonb(dict(arguments)), idempotency_key, run_id)).fetchone()
            if row is None:   # a retry of a stored call, or a run this workspace cannot see
                row = conn.execute(_CALL + " where run_id = %s and idempotency_key = %s",
                                   (run_id, idempotency_key)).fetchone()
                if row is None:
                    raise LookupError(f"no agent run {run_id} in workspace {workspace}")
                return ToolCallResult(*row)
            return self._perform(conn, ToolCallResult(*row), fail)

    def retry_tool_call(self, workspace: UUID, run_id: UUID, tool_call_id: UUID, *,
                        fail: bool = False) -> ToolCallResult:
        """Retries a call with its own idempotency key: a failed call of a running run runs
        again; any other call is returned as stored."""
        with self.in_workspace(workspace) as conn:
            key = conn.execute("select idempotency_key from tool_calls where tool_call_id = %s",
                               (tool_call_id,)).fetchone()
            if key is None:
                raise LookupError(f"no tool call {tool_call_id} in workspace {workspace}")
            row = conn.execute("update tool_calls t set state = 'requested' where tool_call_id = %s "
                               "and state = 'failed' and exists (select 1 from agent_runs r where "
                               "r.run_id = t.run_id and r.state = 'running') "
                               "returning tool_call_id, state, failure_class, attempts",
                               (tool_call_id,)).fetchone()
            if row is None:
                return ToolCallResult(*conn.execute(_CALL + " where tool_call_id = %s",
                                                    (tool_call_id,)).fetchone())
            return self._perform(conn, ToolCallResult(*row), fail)

    def tool_writes(self, workspace: UUID, run_id: UUID) -> list[ToolWrite]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select tool_call_id, body from agent_notes where run_id = %s "
                                "order by tool_call_id", (run_id,)).fetchall()
        return [ToolWrite(*r) for r in rows]

    def tool_audit(self, workspace: UUID, run_id: UUID) -> list[ToolAuditRecord]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select tool_call_id, run_id, workspace_id, tool, outcome, failure_class "
                                "from tool_call_audit where run_id = %s order by audit_id",
                                (run_id,)).fetchall()
        return [ToolAuditRecord(*r) for r in rows]

    def record_output(self, workspace: UUID, run_id: UUID, schema_name: str,
                      json_schema: Mapping[str, Any], output: Any) -> UUID:
        validator = jsonschema.Draft202012Validator(dict(json_schema))
        errors = sorted(validator.iter_errors(output), key=lambda e: list(e.absolute_path))
        if errors:
            raise OutputRejected(f"{schema_name}: {errors[0].message} at "
                                 f"/{'/'.join(map(str, errors[0].absolute_path))}")
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "insert into agent_outputs (workspace_id, run_id, schema_name, json_schema, output, "
                "prompt_version, model_version) select %s, run_id, %s, %s, %s, prompt_version, "
                "model_version from agent_runs where run_id = %s returning output_id",
                (workspace, schema_name, Jsonb(dict(json_schema)), Jsonb(output), run_id)).fetchone()
        if row is None:
            raise LookupError(f"no agent run {run_id} in workspace {workspace}")
        return row[0]

    def run_outputs(self, workspace: UUID) -> list[StoredOutput]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select run_id, schema_name, json_schema, output, prompt_version, "
                                "model_version from agent_outputs order by created_at, output_id").fetchall()
        return [StoredOutput(*r) for r in rows]

    # -- internals ---------------------------------------------------------------------------
    def _move(self, workspace: UUID, run_id: UUID, target: str, failure_class: str | None = None,
              error: str | None = None) -> RunStatus:
        """Asks the database for one transition; asking for the state a run is in is refused too."""
        try:
            with self.in_workspace(workspace) as conn:
                current = conn.execute("select state from agent_runs where run_id = %s for update",
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

    @staticmethod
    def _perform(conn: psycopg.Connection, call: ToolCallResult, fail: bool) -> ToolCallResult:
        """Runs a requested call's effect and records its outcome; a refused call does nothing."""
        if call.state != "requested":
            return call
        if fail:
            sets, params = "state = 'failed', failure_class = 'timeout'", ()
        else:
            tool, arguments = conn.execute("select tool, arguments from tool_calls where tool_call_id = %s",
                                           (call.tool_call_id,)).fetchone()
            if tool == "write_note":
                conn.execute("insert into agent_notes (workspace_id, run_id, tool_call_id, body) "
                             "select workspace_id, run_id, tool_call_id, %s from tool_calls "
                             "where tool_call_id = %s", (str(arguments.get("body", "")), call.tool_call_id))
            sets, params = "state = 'succeeded', result = %s", (Jsonb({"ok": True}),)
        row = conn.execute(f"update tool_calls set {sets} where tool_call_id = %s "
                           "returning tool_call_id, state, failure_class, attempts",
                           (*params, call.tool_call_id)).fetchone()
        return ToolCallResult(*row)
