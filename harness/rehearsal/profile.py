"""Rehearsal configuration: volume, lock budget and release window, and squawk's rule sets.

Read from a YAML file (``fixtures/rehearsal/profiles.yaml`` in this repository) into frozen
dataclasses at the edge; a bad field is a :class:`~harness.errors.ConfigError` naming the file,
the field and the fix. A file holds several named profiles (``ci`` runs on every change, ``ga``
is the launch-sized run); ``HARNESS_REHEARSAL_PROFILE`` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

__all__ = ["PROFILE_ENV", "AllowedLint", "RehearsalConfig", "RehearsalProfile", "load_config"]

PROFILE_ENV = "HARNESS_REHEARSAL_PROFILE"
_NUMBERS = {"rows": int, "tenants": int, "workers": int, "think_time_s": float,
            "lock_budget_s": float, "release_window_s": float, "sample_interval_s": float,
            "settle_s": float}


@dataclass(frozen=True)
class RehearsalProfile:
    name: str
    rows: int                  # bulk rows in all, spread over tenants and bulk tables
    tenants: int
    workers: int
    think_time_s: float
    lock_budget_s: float
    release_window_s: float
    sample_interval_s: float
    settle_s: float


@dataclass(frozen=True)
class AllowedLint:
    revision: str
    rule: str
    reason: str


@dataclass(frozen=True)
class RehearsalConfig:
    path: Path
    profile: RehearsalProfile
    payload: dict[str, Any] = field(default_factory=dict)
    payload_unique_keys: tuple[str, ...] = ()     # keys whose value differs on every bulk row
    squawk_pg_version: str = "17.0"
    lock_rules: tuple[str, ...] = ()
    allowed: tuple[AllowedLint, ...] = ()

    def allowance(self, revision: str, rule: str) -> AllowedLint | None:
        return next((a for a in self.allowed if a.revision == revision and a.rule == rule), None)


def load_config(path: str | os.PathLike[str], profile: str | None = None) -> RehearsalConfig:
    """Reads ``path``; ``profile`` (or ``HARNESS_REHEARSAL_PROFILE``, or the file's default)."""
    where = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, "", "file not found",
                          "create it (see fixtures/rehearsal/profiles.yaml)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles"), dict):
        raise ConfigError(where, "profiles", "is missing", "add profiles: {ci: {...}, ga: {...}}")
    name = profile or os.environ.get(PROFILE_ENV) or raw.get("default") or "ci"
    if name not in raw["profiles"]:
        raise ConfigError(where, f"profiles.{name}", "is not defined",
                          f"use one of {', '.join(raw['profiles'])} or add it")
    squawk = raw.get("squawk") or {}
    if not isinstance(squawk, dict):
        raise ConfigError(where, "squawk", "must be a mapping", "see fixtures/rehearsal/profiles.yaml")
    payload = raw.get("payload") or {}
    if not isinstance(payload, dict):
        raise ConfigError(where, "payload", "must be a mapping (a JSON object)", "write it as YAML keys")
    return RehearsalConfig(
        path=Path(path), profile=_profile(where, name, raw["profiles"][name]), payload=payload,
        payload_unique_keys=tuple(str(k) for k in raw.get("payload_unique_keys") or ()),
        squawk_pg_version=str(squawk.get("pg_version", "17.0")),
        lock_rules=tuple(str(r) for r in squawk.get("lock_rules") or ()),
        allowed=tuple(_allowed(where, i, a) for i, a in enumerate(squawk.get("allowed") or ())))


def _profile(where: str, name: str, raw: Any) -> RehearsalProfile:
    if not isinstance(raw, dict):
        raise ConfigError(where, f"profiles.{name}", "must be a mapping", "see the ci profile")
    values: dict[str, Any] = {}
    for key, kind in _NUMBERS.items():
        if key not in raw:
            raise ConfigError(where, f"profiles.{name}.{key}", "is missing", f"add {key}: <number>")
        try:
            values[key] = kind(raw[key])
        except (TypeError, ValueError):
            raise ConfigError(where, f"profiles.{name}.{key}", f"{raw[key]!r} is not a number",
                              f"write {key} as a {kind.__name__}") from None
        if values[key] < 0 or (key in ("tenants", "workers", "lock_budget_s") and values[key] <= 0):
            raise ConfigError(where, f"profiles.{name}.{key}", "must be positive", "use a value > 0")
    return RehearsalProfile(name=name, **values)


def _allowed(where: str, i: int, raw: Any) -> AllowedLint:
    fld = f"squawk.allowed[{i}]"
    if not isinstance(raw, dict) or not all(str(raw.get(k) or "").strip()
                                            for k in ("revision", "rule", "reason")):
        raise ConfigError(where, fld, "needs revision, rule and reason",
                          "e.g. {revision: '0004', rule: adding-field-with-default, reason: ...}")
    return AllowedLint(str(raw["revision"]), str(raw["rule"]), str(raw["reason"]))
