"""S06 agent runs and tool calls: the state machine, idempotent writes, the tool policy, the
audit trail, rollback of failed runs and schema-conformant outputs; plus random schedules."""

from __future__ import annotations

import pytest
import yaml

from harness.ai import AgentRuns, require_no_problems
from harness.ai.agent_runs import (
    audit_observations,
    idempotency_observations,
    policy_observations,
    rollback_observations,
    schema_observations,
    transition_observations,
)
from harness.ai.run_races import concurrent_start_observations
from harness.ai.stateful import ScheduleLog, explore_schedules
from harness.capabilities import require
from harness.evidence import attach_json
from scenarios.ai.conftest import FIXTURES

# modest by default: the exploration runs inside a gate that must stay near a minute
MAX_EXAMPLES, STEPS = 15, 20


@pytest.fixture(scope="module")
def runs(module_adapter, harness_target) -> AgentRuns:
    return require(module_adapter, "agent-runs", harness_target)


@pytest.fixture(scope="module")
def schedules(runs, workspaces) -> ScheduleLog:
    """One hypothesis exploration of random schedules, judged property by property below."""
    return explore_schedules(runs, workspaces[0], max_examples=MAX_EXAMPLES, steps=STEPS)


def _judge(observations: list[dict], name: str, message: str) -> None:
    attach_json(observations, name)
    require_no_problems([o for o in observations if not o["passed"]], message)


def _judge_schedules(log: ScheduleLog, prop: str, message: str) -> None:
    attach_json({"examples": log.examples, "steps": log.steps, "problems": log.problems[prop]},
                f"random schedules: {prop}")
    if log.steps == 0:
        require_no_problems([{"problem": "no schedule step ran"}], "the exploration did not run")
    require_no_problems(log.problems[prop], message)


@pytest.mark.evidence("S06.run-state-tracking", story="F4-E2-S1")
def test_every_run_operation_from_every_state_follows_the_machine(runs, workspaces):
    """Start, finish, fail and cancel tried from each of the five states: allowed moves land
    where the machine says, every other one is refused and leaves the run where it was."""
    _judge(transition_observations(runs, workspaces[0]), "transition matrix",
           "a run moved through a transition the machine does not allow")


@pytest.mark.evidence("S06.run-state-tracking", story="F4-E2-S2")
def test_random_schedules_keep_runs_and_calls_on_the_machine(schedules):
    """Across random schedules of runs and tool calls, every run and call state is what the
    machine predicts, and a replay reaches the same state."""
    _judge_schedules(schedules, "states", "a run or tool call left the state machine")


@pytest.mark.evidence("S06.idempotent-tool-writes", story="F4-E2-S2")
def test_a_retried_tool_call_writes_once(runs, workspaces):
    """A write call that times out, is retried until it succeeds, is retried again and then
    replayed with the same idempotency key leaves exactly one write."""
    _judge(idempotency_observations(runs, workspaces[0]), "retries",
           "a retried tool call wrote more than once")


@pytest.mark.evidence("S06.idempotent-tool-writes", story="F4-E2-S2")
def test_random_schedules_write_each_effect_once(schedules):
    """Across random schedules, the writes of every run are exactly the successful write calls:
    retries and replays add none."""
    _judge_schedules(schedules, "writes", "tool writes do not match the successful calls")


@pytest.mark.evidence("S06.unauthorized-tool-negatives", story="F4-E2-S3")
def test_a_tool_outside_the_policy_or_workspace_is_refused_recorded_and_writes_nothing(runs, workspaces):
    """A tool the run was not granted, arguments aimed at another workspace, a finished run, and
    another workspace's run: each call is refused (and audited as refused), and nothing is written."""
    _judge(policy_observations(runs, *workspaces), "policy probes",
           "a tool call outside the run's policy or workspace was not refused")


@pytest.mark.evidence("S06.tool-call-audit", story="F4-E2-S3")
def test_every_tool_call_is_audited_with_its_outcome(runs, workspaces):
    """Calls that succeed, fail, are refused and are retried each have audit rows naming their
    run and workspace, the last one being the call's final outcome."""
    _judge(audit_observations(runs, workspaces[0]), "audit", "a tool call is missing from the audit")


@pytest.mark.evidence("S06.tool-call-audit", story="F4-E2-S3")
def test_random_schedules_audit_every_call(schedules):
    """Across random schedules, every tool call's audit trail ends with its final outcome."""
    _judge_schedules(schedules, "audit", "a tool call's audit trail does not match it")


@pytest.mark.evidence("S06.failure-rollback", story="F4-E2-S3")
def test_a_failed_run_rolls_back_its_writes_and_records_its_class(runs, workspaces):
    """A run writes three notes and fails: the notes are gone, the run is failed with its failure
    class, and the audit of its calls is kept."""
    _judge(rollback_observations(runs, workspaces[0]), "rollback",
           "a failed run kept partial writes or lost its failure class")


@pytest.mark.evidence("S06.failure-rollback", story="F4-E2-S3")
def test_random_schedules_leave_failed_runs_without_writes(schedules):
    """Across random schedules, every run that failed has no tool writes left."""
    _judge_schedules(schedules, "rollback", "a failed run kept tool writes")


@pytest.mark.evidence("S06.output-schema-conformance", story="F4-E1-S3")
def test_structured_outputs_conform_to_their_schema_and_carry_versions(runs, workspaces):
    """Outputs from fixtures/agent_runs/outputs.yaml: conforming ones are stored, the others are
    refused; every stored output validates against its stored JSON Schema and carries its run's
    prompt and model versions."""
    schemas = yaml.safe_load((FIXTURES / "agent_runs" / "outputs.yaml").read_text())["schemas"]
    _judge(schema_observations(runs, workspaces[0], schemas), "outputs",
           "a structured output broke its schema or lost its versions")


@pytest.mark.evidence("S06.run-state-tracking", story="F4-E2-S1")
def test_a_run_started_by_several_workers_at_once_starts_once(runs, workspaces, module_database,
                                                              harness_target):
    """Several workers (three adapters, as three service instances) start one pending run at the
    same moment: exactly one is allowed, every other is refused, and the run is running; two
    "allowed" answers mean two workers execute the same run."""
    workers = [require(module_database.spec.load_adapter_class()(module_database), "agent-runs",
                       harness_target) for _ in range(3)]
    _judge(concurrent_start_observations(runs, workers, workspaces[0]), "concurrent starts",
           "a run was started more than once by workers racing for it")
