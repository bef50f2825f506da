"""Thresholds to verdicts: each SLO of the profile, measured, passed or failed with the reason.

Strict on purpose: an endpoint the profile names but locust never requested fails, and zero
requests is a failure, never a pass (no evidence is not good evidence). A regression against the
baseline packet beyond the profile's tolerance fails even under the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.load.profiles import EndpointSlo, LoadProfile
from harness.load.stats import EndpointStats, LoadStats

__all__ = ["Verdict", "evaluate_endpoint", "evaluate_fairness", "regression"]

_PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


@dataclass(frozen=True)
class Verdict:
    subject: str            # the endpoint (or tenant class)
    metric: str             # p95_ms, error_ratio, rps, ...
    measured: float | None
    threshold: float
    comparison: str         # "<=" or ">="
    passed: bool
    reason: str

    @property
    def metric_name(self) -> str:
        return f"{self.subject} {self.metric}"


def _check(subject: str, metric: str, measured: float | None, threshold: float, comparison: str,
           requests: int) -> Verdict:
    if requests == 0 or measured is None:
        return Verdict(subject, metric, measured, threshold, comparison, False,
                       "no request was measured: zero requests is a failure, not a pass")
    ok = measured <= threshold if comparison == "<=" else measured >= threshold
    word = "within" if ok else "breaks"
    return Verdict(subject, metric, measured, threshold, comparison, ok,
                   f"{measured:.3g} {word} {comparison} {threshold:g} over {requests} requests")


def evaluate_endpoint(stats: LoadStats, slo: EndpointSlo) -> list[Verdict]:
    entry = stats.endpoint(slo.name)
    verdicts = []
    for metric, fraction in _PERCENTILES.items():
        limit = getattr(slo, metric)
        if limit is not None:
            verdicts.append(_check(slo.name, metric, entry.percentile(fraction), limit, "<=", entry.requests))
    if slo.max_error_ratio is not None:
        verdicts.append(_check(slo.name, "error_ratio", entry.error_ratio, slo.max_error_ratio, "<=",
                               entry.requests))
    if slo.min_rps is not None:
        verdicts.append(_check(slo.name, "rps", entry.rps(stats.duration_s), slo.min_rps, ">=",
                               entry.requests))
    if slo.mean_ratio is not None:
        verdicts.append(_mean_ratio(slo, entry, stats.endpoint(slo.mean_ratio.to)))
    return verdicts


def _mean_ratio(slo: EndpointSlo, entry: EndpointStats, other: EndpointStats) -> Verdict:
    """``slo``'s endpoint's mean latency over ``other``'s, measured in the same run."""
    ratio = entry.mean / other.mean if entry.mean is not None and other.mean else None
    verdict = _check(slo.name, "mean_ratio", ratio, slo.mean_ratio.at_most, "<=",
                     min(entry.requests, other.requests))
    if ratio is None:
        return verdict
    return replace(verdict, reason=f"mean {entry.mean:.3g} ms over {other.name}'s {other.mean:.3g} ms: "
                                   f"{verdict.reason}")


def evaluate_fairness(stats: LoadStats, profile: LoadProfile, endpoint: str) -> Verdict | None:
    """p95 of the small tenants on ``endpoint`` while the large ones saturate it."""
    if profile.small_tenant_p95_ms is None:
        return None
    entry = stats.endpoint(endpoint, "small")
    return _check(f"{endpoint} [small]", "p95_ms", entry.percentile(0.95),
                  profile.small_tenant_p95_ms, "<=", entry.requests)


def regression(verdict: Verdict, baseline: float | None, tolerance: float) -> str | None:
    """Why ``verdict``'s value regressed beyond ``tolerance`` of ``baseline`` (None if it did not)."""
    if baseline is None or verdict.measured is None or baseline <= 0:
        return None
    if verdict.comparison == "<=" and verdict.measured > baseline * (1 + tolerance):
        return (f"{verdict.metric_name} {verdict.measured:.3g} is more than {tolerance:.0%} worse "
                f"than the baseline {baseline:.3g}")
    if verdict.comparison == ">=" and verdict.measured < baseline * (1 - tolerance):
        return (f"{verdict.metric_name} {verdict.measured:.3g} is more than {tolerance:.0%} below "
                f"the baseline {baseline:.3g}")
    return None
