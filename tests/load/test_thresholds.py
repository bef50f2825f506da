"""Threshold evaluation on recorded locust output (``data/recorded*``: a real locust run).

The recording has ``GET /v1/work-items`` from two tenant classes and ``POST /v1/work-items``
with about 10% failures. Every verdict must be able to fail: a tight ceiling, a missing
endpoint and zero requests all fail; only a threshold the measurement keeps passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.load import EndpointSlo, evaluate_endpoint, evaluate_fairness, read_stats
from harness.load.baseline import baseline_metrics
from harness.load.profiles import LoadProfile, TenantMix, load_profile
from harness.load.thresholds import regression

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recorded():
    return read_stats(DATA / "recorded.json", DATA / "recorded_stats_history.csv", 4.0)


def _profile(*endpoints: EndpointSlo, fairness: float | None = None) -> LoadProfile:
    return LoadProfile("test", 4, 4, 4, 0, TenantMix(), endpoints, small_tenant_p95_ms=fairness)


def test_the_recording_is_read_per_endpoint_and_per_tenant_class(recorded):
    assert recorded.endpoints() == ["GET /v1/work-items", "POST /v1/work-items"]
    both = recorded.endpoint("GET /v1/work-items")
    small = recorded.endpoint("GET /v1/work-items", "small")
    large = recorded.endpoint("GET /v1/work-items", "large")
    assert both.requests == small.requests + large.requests > 0
    assert recorded.endpoint("POST /v1/work-items").failures > 0
    assert [p for p in recorded.history if p.name == "Aggregated"]


def test_thresholds_the_measurement_keeps_pass(recorded):
    verdicts = evaluate_endpoint(recorded, EndpointSlo("GET /v1/work-items", p50_ms=5000, p95_ms=5000,
                                                       p99_ms=5000, max_error_ratio=0.0, min_rps=1))
    assert [v.metric for v in verdicts] == ["p50_ms", "p95_ms", "p99_ms", "error_ratio", "rps"]
    assert all(v.passed for v in verdicts), [v.reason for v in verdicts]


def test_a_tight_ceiling_an_error_ratio_and_a_throughput_floor_fail(recorded):
    verdicts = {v.metric: v for v in evaluate_endpoint(
        recorded, EndpointSlo("POST /v1/work-items", p95_ms=0, max_error_ratio=0.01, min_rps=10_000))}
    assert not verdicts["p95_ms"].passed and "breaks" in verdicts["p95_ms"].reason
    assert not verdicts["error_ratio"].passed and verdicts["error_ratio"].measured > 0.01
    assert not verdicts["rps"].passed


def test_an_endpoint_never_requested_fails_as_zero_requests(recorded):
    verdicts = evaluate_endpoint(recorded, EndpointSlo("DELETE /v1/work-items/{id}", p95_ms=10_000,
                                                       max_error_ratio=1.0))
    assert verdicts and not any(v.passed for v in verdicts)
    assert all("zero requests" in v.reason for v in verdicts)


def test_an_entry_with_zero_requests_fails_not_passes(tmp_path, recorded):
    raw = json.loads((DATA / "recorded.json").read_text())
    for entry in raw:
        entry.update(num_requests=0, num_failures=0, response_times={})
    (tmp_path / "zero.json").write_text(json.dumps(raw))
    zero = read_stats(tmp_path / "zero.json", None, 4.0)
    verdicts = evaluate_endpoint(zero, EndpointSlo("GET /v1/work-items", p95_ms=10_000, min_rps=0))
    assert not any(v.passed for v in verdicts)


def test_fairness_reads_the_small_class_only(recorded):
    ok = evaluate_fairness(recorded, _profile(fairness=5000), "GET /v1/work-items")
    tight = evaluate_fairness(recorded, _profile(fairness=0), "GET /v1/work-items")
    assert ok.passed and not tight.passed
    assert "small" in ok.subject


def test_a_regression_beyond_the_tolerance_fails_even_under_the_ceiling(recorded):
    (verdict,) = evaluate_endpoint(recorded, EndpointSlo("GET /v1/work-items", p95_ms=5000))
    assert verdict.passed
    assert regression(verdict, verdict.measured / 3, tolerance=0.5) is not None
    assert regression(verdict, verdict.measured, tolerance=0.5) is None


def test_baseline_metrics_are_read_from_a_packet(tmp_path):
    packet = {"items": [{"id": "S11.load-slo", "metrics": [
        {"test": "t", "name": "GET /v1/work-items p95_ms", "value": 42.0, "unit": "ms"}]}]}
    (tmp_path / "packet.json").write_text(json.dumps(packet))
    assert baseline_metrics(tmp_path) == {"GET /v1/work-items p95_ms": 42.0}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="HARNESS_LOAD_BASELINE"):
        baseline_metrics(tmp_path / "bad.json")


def test_the_shipped_profiles_load_and_a_bad_one_names_the_field(tmp_path):
    for name in ("ci", "ga"):
        assert load_profile(ROOT / "loadtests" / "slo.yaml", name).endpoints
    bad = tmp_path / "slo.yaml"
    bad.write_text("profiles: {ci: {endpoints: {'GET /x': {p95_ms: fast}}}}\n")
    with pytest.raises(ConfigError, match=r"profiles\.ci\.endpoints\.GET /x\.p95_ms"):
        load_profile(bad, "ci")
    with pytest.raises(ConfigError, match="no such profile"):
        load_profile(bad, "nope")
