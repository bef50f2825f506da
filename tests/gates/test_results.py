"""Reading Allure results: real allure-pytest output (the evidence marker becoming labels, a
rerun sharing a historyId, metrics attached both ways), generated result sets, and malformed
files that must each give a clear error."""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.gates.results import outcome_of, read_results
from tests.gates.conftest import SCENARIO
from tests.gates.result_files import ResultFiles


def _case(result_set, name):
    return next(c for c in result_set.cases if c.name == name)


def test_real_allure_pytest_output_is_read(real_results):
    result_set = read_results(real_results)
    outcomes = {c.name: c.outcome for c in result_set.cases}
    assert outcomes == {
        "test_no_cross_tenant_read": "passed",
        "test_audit_row_written": "failed",
        "test_audit_needs_adapter": "skipped",
        "test_query_latency": "passed",
        "test_invariant_flaky": "flaky",
    }
    leak = _case(result_set, "test_no_cross_tenant_read")
    assert leak.evidence == ("S03.cross-tenant-negatives",) and leak.gates == ("S03",)
    assert [a.name for a in leak.final.attachments] == ["sql"] and leak.final.attachments[0].present
    assert "F2-E3-S1" in leak.final.label_values("story")
    failed = _case(result_set, "test_audit_row_written")
    assert "no audit row" in failed.final.message and failed.final.trace
    flaky = _case(result_set, "test_invariant_flaky")
    assert [a.status for a in flaky.attempts] == ["failed", "passed"]
    assert flaky.gates == ("S04",)


def test_metrics_come_from_attachment_and_parameter(real_results):
    latency = _case(read_results(real_results), "test_query_latency")
    metrics = {m.name: m for m in latency.metrics}
    assert metrics["p95_ms"].value == 120.0 and metrics["p95_ms"].unit == "ms"
    assert (metrics["p95_ms"].comparison, metrics["p95_ms"].threshold) == ("<=", 150.0)
    assert metrics["rows"].value == 5000.0 and metrics["rows"].threshold is None


def test_generated_files_have_the_real_shape(real_results, results):
    """The test writer produces the keys allure-pytest writes (so fake results are honest)."""
    real = json.loads(next(real_results.glob("*-result.json")).read_text())
    fake = json.loads(results.add("x", evidence=("S03.a",)).read_text())
    assert {"name", "status", "start", "stop", "uuid", "historyId", "fullName", "labels"} <= set(real)
    assert set(fake) - {"statusDetails", "attachments", "parameters"} <= set(real) | {"titlePath"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(st.sampled_from(["passed", "failed", "broken", "skipped"]), min_size=1, max_size=4),
       order=st.randoms(use_true_random=False))
def test_reruns_are_grouped_by_history_id_and_ordered_by_start(statuses, order):
    """However the files are named, a test's attempts are read in run order."""
    with tempfile.TemporaryDirectory() as directory:
        files = ResultFiles(Path(directory))
        starts = [1_000 * (i + 1) for i in range(len(statuses))]
        pairs = list(zip(starts, statuses, strict=True))
        order.shuffle(pairs)
        for start, status in pairs:
            files.add("t", status, evidence=("S03.x",), history_id="h1", start=start)
        files.add("other", "passed", evidence=("S03.x",), history_id="h2")
        result_set = read_results(Path(directory))
        case = next(c for c in result_set.cases if c.key == "h1")
        assert [a.status for a in case.attempts] == statuses
        assert case.outcome == outcome_of(statuses)
        assert len(result_set.cases) == 2


@pytest.mark.parametrize(("statuses", "outcome"), [
    (["passed"], "passed"), (["failed"], "failed"), (["broken"], "broken"),
    (["skipped"], "skipped"), (["failed", "passed"], "flaky"), (["broken", "skipped", "passed"], "flaky"),
    (["passed", "failed"], "failed"), (["skipped", "passed"], "passed"), (["passed", "skipped"], "passed"),
])
def test_outcome_of_attempts(statuses, outcome):
    assert outcome_of(statuses) == outcome


def test_missing_optional_keys_are_fine(results):
    path = results.directory / "bare-result.json"
    path.write_text(json.dumps({"status": "passed", "name": "bare"}))
    case = read_results(results.directory).cases[0]
    assert (case.name, case.outcome, case.final.duration_ms, case.evidence) == ("bare", "passed", None, ())


def test_unknown_status_reads_as_broken(results):
    results.add("cut-short", "unknown", evidence=("S03.x",))
    assert read_results(results.directory).cases[0].outcome == "broken"


def _malformed(results: ResultFiles, body: str) -> Path:
    path = results.directory / "bad-result.json"
    path.write_text(body)
    return path


@pytest.mark.parametrize(("body", "message"), [
    ('{"status": "passed",\n "name": }', r"bad-result.json: line 2: not valid JSON"),
    ('["not", "an", "object"]', r"must be a JSON object"),
    ('{"status": "green"}', r"bad-result.json: status: 'green' is not an Allure status"),
    ('{"status": "passed", "labels": {"evidence": "S03.x"}}', r"labels: must be a list"),
    ('{"status": "passed", "attachments": [{"name": "x", "source": "../../etc/passwd"}]}',
     r"attachments\[0\].source: '../../etc/passwd' is not a file name in the results directory"),
    ('{"status": "passed", "parameters": [{"name": "metric:p95", "value": "fast"}]}',
     r"parameters.metric:p95: 'fast' is not a number"),
    ('{"status": "passed", "start": "yesterday"}', r"start: must be epoch milliseconds"),
])
def test_malformed_result_file_gives_a_clear_error(results, body, message):
    _malformed(results, body)
    with pytest.raises(ConfigError, match=message) as caught:
        read_results(results.directory)
    assert "fix:" in str(caught.value)


def test_malformed_metric_attachment_names_the_file(results):
    (results.directory / "m-attachment.json").write_text('{"value": "slow"}')
    results.add("t", evidence=("S03.x",), extra={"attachments": [
        {"name": "metric:p95_ms", "source": "m-attachment.json", "type": "application/json"}]})
    with pytest.raises(ConfigError, match=r"m-attachment.json: attachment 'metric:p95_ms'.value: 'slow'"):
        read_results(results.directory)


def test_bad_metric_comparison_is_an_error(results):
    results.add("t", evidence=("S03.x",), metrics=({"name": "p95", "value": 1, "comparison": "=<"},))
    with pytest.raises(ConfigError, match=r"'=<' is not a comparison"):
        read_results(results.directory)


def test_missing_results_directory(tmp_path):
    with pytest.raises(ConfigError, match=r"results directory not found \(fix: pass --results DIR"):
        read_results(tmp_path / "nothing")


def test_malformed_provenance_file(results):
    (results.directory / "harness-provenance.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"harness-provenance.json: must be a JSON object"):
        read_results(results.directory)


def test_attachment_missing_on_disk_is_marked_not_present(results):
    results.add("t", evidence=("S03.x",), extra={"attachments": [
        {"name": "sql", "source": "gone-attachment.txt", "type": "text/plain"}]})
    attachment = read_results(results.directory).cases[0].final.attachments[0]
    assert attachment.present is False


def test_attachments_inside_steps_are_found(results):
    (results.directory / "step-attachment.txt").write_text("EXPLAIN ...")
    results.add("t", evidence=("S03.x",), extra={"steps": [
        {"name": "query", "status": "passed", "attachments": [
            {"name": "plan", "source": "step-attachment.txt", "type": "text/plain"}]}]})
    assert [a.name for a in read_results(results.directory).cases[0].final.attachments] == ["plan"]


def test_flaky_scenario_script_is_valid_python():
    compile(textwrap.dedent(SCENARIO), "scenario", "exec")
