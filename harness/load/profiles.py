"""SLO profiles (``loadtests/slo.yaml``), validated into frozen dataclasses at the edge.

A profile says how much load (users, spawn rate, duration, locust workers, tenants of each
class) and what each endpoint must keep: p50/p95/p99 ceilings in milliseconds, a maximum error
ratio, a minimum throughput, a ceiling on its mean latency relative to another endpoint of the
same run (``mean_ratio``); the p95 ceiling of the small tenants while large ones saturate
(fairness); how many list requests the API must hold in the database at once
(``concurrent_requests``: its connection pool, seen from the database); and how much worse than the baseline packet a metric may get; ``stable_tolerance``: the load stops
once its percentiles are that stable (``duration_s`` is then a cap; null: always run it whole).
``ci`` runs for at most 30 s; ``ga`` is the launch profile. ``HARNESS_LOAD_PROFILE`` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.profilefile import bounds, build, choose, read_document

__all__ = ["ENV", "EndpointSlo", "LoadProfile", "MeanRatio", "TenantMix", "load_profile"]

ENV = "HARNESS_LOAD_PROFILE"
_MS = bounds(above=0)


@dataclass(frozen=True)
class MeanRatio:
    """An endpoint's mean latency at most ``at_most`` times another endpoint's, in the same run.

    Measured side by side, both endpoints meet the same runner, the same load and the same
    neighbours, so a runner's noise moves them together while one endpoint's own slowdown moves
    the ratio: a regression an absolute ceiling (sized for a crowded runner) lets through on a
    quiet one."""

    to: str                         # the other endpoint's locust request name
    at_most: float = field(metadata=bounds(above=0))


@dataclass(frozen=True)
class EndpointSlo:
    name: str                       # locust request name, e.g. "GET /v1/work-items"
    p50_ms: float | None = field(default=None, metadata=_MS)
    p95_ms: float | None = field(default=None, metadata=_MS)
    p99_ms: float | None = field(default=None, metadata=_MS)
    max_error_ratio: float | None = field(default=None, metadata=bounds(0, 1))
    min_rps: float | None = field(default=None, metadata=bounds(0))
    mean_ratio: MeanRatio | None = None


@dataclass(frozen=True)
class TenantMix:
    large: int = field(default=2, metadata=bounds(0))     # tenants that saturate (noisy neighbours)
    small: int = field(default=48, metadata=bounds(1))
    items_large: int = field(default=300, metadata=bounds(0))   # work items seeded per large tenant
    items_small: int = field(default=20, metadata=bounds(0))


@dataclass(frozen=True)
class Fairness:
    small_tenant_p95_ms: float | None = field(default=None, metadata=_MS)


@dataclass(frozen=True)
class LoadProfile:
    name: str
    duration_s: int = field(default=30, metadata=bounds(1))
    users: int = field(default=20, metadata=bounds(1))
    spawn_rate: float = field(default=10, metadata=bounds(0.1))
    workers: int = field(default=0, metadata=bounds(0))     # locust workers; 0: one local process
    tenants: TenantMix = field(default_factory=TenantMix)
    endpoints: tuple[EndpointSlo, ...] = ()
    small_tenant_p95_ms: float | None = None
    baseline_tolerance: float = field(default=0.5, metadata=bounds(0))
    large_users: int = field(default=4, metadata=bounds(1))
    # the load stops once its percentiles are stable to this fraction (duration_s is then a
    # cap); None runs duration_s whole (harness.load.runner)
    stable_tolerance: float | None = field(default=0.1, metadata=bounds(above=0, maximum=0.99))
    # list requests the API must hold inside the database at once (its pool, seen from the
    # database: harness.load.probe); None: not judged
    concurrent_requests: int | None = field(default=None, metadata=bounds(1))
    extra: dict[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointSlo | None:
        return next((e for e in self.endpoints if e.name == name), None)


def load_profile(path: Path, name: str | None = None) -> LoadProfile:
    """Reads ``path`` and returns profile ``name`` (default: ``HARNESS_LOAD_PROFILE`` or ``ci``)."""
    where = str(path)
    raw = read_document(path, "see loadtests/slo.yaml")
    if not isinstance(raw, dict) or "profiles" not in raw:
        raise ConfigError(where, "profiles", "is missing", "start the file with profiles: {ci: {...}}")
    build(_Top, {k: v for k, v in raw.items() if k != "profiles"}, where, "")
    name, p = choose(where, raw["profiles"], "profiles", name, ENV, "ci")
    fld = f"profiles.{name}"
    if not isinstance(p, dict):
        build(LoadProfile, p, where, fld)                      # "must be a mapping"
    endpoints_raw = p.get("endpoints")
    if not isinstance(endpoints_raw, dict) or not endpoints_raw:
        raise ConfigError(where, f"{fld}.endpoints", "must map request names to their SLOs",
                          'give at least one, e.g. "GET /v1/work-items": {p95_ms: 1200}')
    endpoints = tuple(build(EndpointSlo, rules, where, f"{fld}.endpoints.{endpoint}",
                            fixed={"name": str(endpoint)})
                      for endpoint, rules in endpoints_raw.items())
    names = [e.name for e in endpoints]
    for e in endpoints:
        if e.mean_ratio is not None and (e.mean_ratio.to not in names or e.mean_ratio.to == e.name):
            raise ConfigError(where, f"{fld}.endpoints.{e.name}.mean_ratio.to",
                              f"names {'the endpoint itself' if e.mean_ratio.to == e.name else 'no endpoint of the profile'}"
                              f" ({e.mean_ratio.to!r})",
                              f"name another endpoint of {fld}.endpoints: "
                              + ", ".join(repr(n) for n in names if n != e.name))
    fairness = build(Fairness, p.get("fairness") or {}, where, f"{fld}.fairness")
    return build(LoadProfile, p, where, fld, handled=frozenset({"endpoints", "fairness"}),
                 fixed={"name": name, "endpoints": endpoints, "extra": {},
                        "small_tenant_p95_ms": fairness.small_tenant_p95_ms})


@dataclass(frozen=True)
class _Top:
    """The keys allowed beside ``profiles`` at the top of the file."""

    version: int = 1

