"""Random schedules of agent runs and tool calls (S06), driven by a hypothesis state machine.

Rules create runs, move them (start, finish, fail, cancel), call tools (granted or not, failing
or not), retry calls and replay them with the same idempotency key. A model predicts what the
machine allows; every step compares the target with it and records each disagreement under the
property it breaks (``states``, ``writes``, ``rollback``, ``audit``) instead of stopping, then
adopts what the target did so one defect is reported once, not as a cascade. Each property's
test then judges its own list: one exploration, four pieces of evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    rule,
    run_state_machine_as_test,
)

from harness.ai.agent_runs import (
    OPERATIONS,
    READ_TOOL,
    VERSIONS,
    WRITE_TOOL,
    observed_state,
    operate,
)
from harness.ai.protocols import AgentRuns, IllegalTransition

__all__ = ["ScheduleLog", "explore_schedules"]

PROPERTIES = ("states", "writes", "rollback", "audit")


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
TOOLS = (WRITE_TOOL, READ_TOOL, "delete_workspace")   # the last is never granted


@dataclass
class ScheduleLog:
    steps: int = 0
    examples: int = 0
    problems: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {p: [] for p in PROPERTIES})

    def note(self, prop: str, **details: Any) -> None:
        self.problems[prop].append(details)


def explore_schedules(adapter: AgentRuns, workspace: UUID, max_examples: int = 8,
                      steps: int = 15) -> ScheduleLog:
    log = ScheduleLog()

    class Schedule(RuleBasedStateMachine):
        runs = Bundle("runs")
        calls = Bundle("calls")

        def __init__(self) -> None:
            super().__init__()
            self.state: dict[UUID, str] = {}
            self.notes: dict[UUID, int] = {}
            self.call: dict[UUID, dict[str, Any]] = {}
            self.grants_write: dict[UUID, bool] = {}
            log.examples += 1

        @rule(target=runs, grant_write=st.booleans())
        def create(self, grant_write: bool) -> UUID:
            tools = (WRITE_TOOL, READ_TOOL) if grant_write else (READ_TOOL,)
            run = adapter.create_run(workspace, "schedule", tools, **VERSIONS)
            self.state[run], self.notes[run], self.grants_write[run] = "pending", 0, grant_write
            return run

        @rule(run=runs, operation=st.sampled_from(sorted(OPERATIONS)))
        def move(self, run: UUID, operation: str) -> None:
            before = self.state[run]
            expected = OPERATIONS[operation].get(before, before)
            try:
                operate(adapter, workspace, run, operation)
            except IllegalTransition:
                pass
            except Exception as exc:  # the target neither moved nor refused: noted, not raised
                log.note("states", run=str(run), operation=operation, before=before,
                         expected=expected, observed=f"raised {_failure(exc)}")
            self._step(run)
            after = observed_state(adapter, workspace, run)
            if after != expected:
                log.note("states", run=str(run), operation=operation, before=before,
                         expected=expected, observed=after)
            if after == "failed" and before != "failed":
                self.notes[run] = 0
            self.state[run] = after
            self._check_writes(run, "rollback" if after == "failed" else "writes", operation)

        @rule(target=calls, run=runs, tool=st.sampled_from(TOOLS), fail=st.booleans())
        def call(self, run: UUID, tool: str, fail: bool) -> UUID:
            key = f"s-{uuid4()}"
            granted = tool == READ_TOOL or (tool == WRITE_TOOL and self.grants_write[run])
            expected = "refused" if self.state[run] != "running" or not granted else \
                "failed" if fail else "succeeded"
            try:
                result = adapter.call_tool(workspace, run, tool, {"body": key}, key, fail=fail)
            except Exception as exc:  # a call must answer (refused at worst): noted, not raised
                log.note("states", step="call", run=str(run), expected=expected,
                         observed=f"raised {_failure(exc)}")
                return multiple()
            self._step(run)
            self._expect_call("call", run, result.state, expected)
            if result.state == "succeeded" and tool == WRITE_TOOL:
                self.notes[run] += 1
            self.call[result.tool_call_id] = {"run": run, "tool": tool, "key": key,
                                              "state": result.state}
            self._check_writes(run, "writes", "call")
            return result.tool_call_id

        @rule(call=calls, fail=st.booleans())
        def retry(self, call: UUID, fail: bool) -> None:
            c = self.call[call]
            runnable = c["state"] == "failed" and self.state[c["run"]] == "running"
            expected = ("failed" if fail else "succeeded") if runnable else c["state"]
            try:
                result = adapter.retry_tool_call(workspace, c["run"], call, fail=fail)
            except Exception as exc:
                log.note("states", step="retry", call=str(call), expected=expected,
                         observed=f"raised {_failure(exc)}")
                return
            self._step(c["run"])
            if result.tool_call_id != call:   # a new call: the idempotency key was not reused
                log.note("writes", step="retry", problem="a retry made a new call instead of "
                         "reusing its idempotency key", call=str(call), new=str(result.tool_call_id))
                self.call[result.tool_call_id] = {**c, "state": result.state}
            else:
                self._expect_call("retry", c["run"], result.state, expected)
                if runnable and result.state == "succeeded" and c["tool"] == WRITE_TOOL:
                    self.notes[c["run"]] += 1
                c["state"] = result.state
            self._check_writes(c["run"], "writes", "retry")

        @rule(call=calls)
        def replay(self, call: UUID) -> None:
            c = self.call[call]
            try:
                result = adapter.call_tool(workspace, c["run"], c["tool"], {"body": c["key"]}, c["key"])
            except Exception as exc:
                log.note("states", step="replay", call=str(call), expected=c["state"],
                         observed=f"raised {_failure(exc)}")
                return
            self._step(c["run"])
            if result.tool_call_id != call:
                log.note("writes", step="replay", problem="a replay with the same idempotency key "
                         "made a new call", call=str(call), new=str(result.tool_call_id))
            self._expect_call("replay", c["run"], result.state, c["state"])
            self._check_writes(c["run"], "writes", "replay")

        def teardown(self) -> None:
            for run in self.state:
                audit = adapter.tool_audit(workspace, run)
                for call, c in self.call.items():
                    if c["run"] != run:
                        continue
                    rows = [r for r in audit if r.tool_call_id == call]
                    if not rows or rows[-1].outcome != c["state"] or any(
                            r.workspace_id != workspace for r in rows):
                        log.note("audit", call=str(call), state=c["state"],
                                 audited=[r.outcome for r in rows])

        # -- model helpers ---------------------------------------------------------------------
        def _step(self, run: UUID) -> None:
            log.steps += 1

        def _expect_call(self, step: str, run: UUID, observed: str, expected: str) -> None:
            if observed != expected:
                log.note("states", step=step, run=str(run), run_state=self.state[run],
                         expected=expected, observed=observed)

        def _check_writes(self, run: UUID, prop: str, step: str) -> None:
            writes = len(adapter.tool_writes(workspace, run))
            if writes != self.notes[run]:
                log.note(prop, step=step, run=str(run), run_state=self.state[run],
                         expected=self.notes[run], observed=writes)
                self.notes[run] = writes

    run_state_machine_as_test(Schedule, settings=settings(
        max_examples=max_examples, stateful_step_count=steps, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    return log
