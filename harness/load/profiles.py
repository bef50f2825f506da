"""SLO profiles (``loadtests/slo.yaml``), validated into frozen dataclasses at the edge.

A profile says how much load (users, spawn rate, duration, locust workers, tenants of each
class) and what each endpoint must keep: p50/p95/p99 ceilings in milliseconds, a maximum error
ratio, a minimum throughput; the p95 ceiling of the small tenants while large ones saturate
(fairness); and how much worse than the baseline packet a metric may get; ``stable_tolerance``: the load stops
once its percentiles are that stable (``duration_s`` is then a cap; null: always run it whole).
``ci`` runs for at most 30 s; ``ga`` is the launch profile. ``HARNESS_LOAD_PROFILE`` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

__all__ = ["ENV", "EndpointSlo", "LoadProfile", "TenantMix", "load_profile"]

ENV = "HARNESS_LOAD_PROFILE"
_ENDPOINT_FIELDS = {"p50_ms", "p95_ms", "p99_ms", "max_error_ratio", "min_rps"}


@dataclass(frozen=True)
class EndpointSlo:
    name: str                       # locust request name, e.g. "GET /v1/work-items"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_error_ratio: float | None = None
    min_rps: float | None = None


@dataclass(frozen=True)
class TenantMix:
    large: int = 2                  # tenants that saturate (noisy neighbours)
    small: int = 48
    items_large: int = 300          # work items seeded per large tenant
    items_small: int = 20


@dataclass(frozen=True)
class LoadProfile:
    name: str
    duration_s: int
    users: int
    spawn_rate: float
    workers: int
    tenants: TenantMix
    endpoints: tuple[EndpointSlo, ...]
    small_tenant_p95_ms: float | None = None
    baseline_tolerance: float = 0.5
    large_users: int = 4
    # the load stops once its percentiles are stable to this fraction (duration_s is then a
    # cap); None runs duration_s whole (harness.load.runner)
    stable_tolerance: float | None = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointSlo | None:
        return next((e for e in self.endpoints if e.name == name), None)


def _number(where: str, fld: str, value: Any, minimum: float = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(where, fld, f"must be a number >= {minimum:g}, got {value!r}",
                          "write a plain number")
    return float(value)


def load_profile(path: Path, name: str | None = None) -> LoadProfile:
    """Reads ``path`` and returns profile ``name`` (default: ``HARNESS_LOAD_PROFILE`` or ``ci``)."""
    where = str(path)
    name = name or os.environ.get(ENV) or "ci"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(where, "", f"cannot be read as YAML ({type(exc).__name__})",
                          "fix the file") from None
    profiles = raw.get("profiles") if isinstance(raw, dict) else None
    if not isinstance(profiles, dict) or name not in profiles:
        known = ", ".join(profiles) if isinstance(profiles, dict) else "none"
        raise ConfigError(where, f"profiles.{name}", "no such profile",
                          f"use one of: {known} (set {ENV})")
    p = profiles[name]
    fld = f"profiles.{name}"
    if not isinstance(p, dict):
        raise ConfigError(where, fld, "must be a mapping", "see the ci profile")
    endpoints = []
    for endpoint, rules in (p.get("endpoints") or {}).items():
        efld = f"{fld}.endpoints.{endpoint}"
        if not isinstance(rules, dict) or set(rules) - _ENDPOINT_FIELDS:
            raise ConfigError(where, efld, "must map thresholds to numbers",
                              f"allowed: {', '.join(sorted(_ENDPOINT_FIELDS))}")
        endpoints.append(EndpointSlo(endpoint, **{k: _number(where, f"{efld}.{k}", v)
                                                  for k, v in rules.items()}))
    if not endpoints:
        raise ConfigError(where, f"{fld}.endpoints", "is empty", "give at least one endpoint SLO")
    mix = p.get("tenants") or {}
    fair = p.get("fairness") or {}
    return LoadProfile(
        name=name, duration_s=int(_number(where, f"{fld}.duration_s", p.get("duration_s", 30), 1)),
        users=int(_number(where, f"{fld}.users", p.get("users", 20), 1)),
        spawn_rate=_number(where, f"{fld}.spawn_rate", p.get("spawn_rate", 10), 0.1),
        workers=int(_number(where, f"{fld}.workers", p.get("workers", 0))),
        tenants=TenantMix(**{k: int(_number(where, f"{fld}.tenants.{k}", v)) for k, v in mix.items()}),
        endpoints=tuple(endpoints),
        small_tenant_p95_ms=(None if fair.get("small_tenant_p95_ms") is None else
                             _number(where, f"{fld}.fairness.small_tenant_p95_ms", fair["small_tenant_p95_ms"])),
        baseline_tolerance=_number(where, f"{fld}.baseline_tolerance", p.get("baseline_tolerance", 0.5)),
        large_users=int(_number(where, f"{fld}.large_users", p.get("large_users", 4), 1)),
        stable_tolerance=_tolerance(where, f"{fld}.stable_tolerance", p.get("stable_tolerance", 0.1)),
    )


def _tolerance(where: str, fld: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(where, fld, f"must be a fraction between 0 and 1, got {value!r}",
                          "write e.g. 0.1, or null to always run duration_s whole")
    return float(value)
