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

from harness.errors import ConfigError
from harness.profilefile import bounds, build, choose, read_document

__all__ = ["PROFILE_ENV", "AllowedLint", "RehearsalConfig", "RehearsalProfile", "load_config"]

PROFILE_ENV = "HARNESS_REHEARSAL_PROFILE"
_POSITIVE = bounds(above=0)
_SECONDS = bounds(0)


@dataclass(frozen=True)
class RehearsalProfile:
    name: str
    rows: int = field(metadata=bounds(0))      # bulk rows in all, spread over tenants and bulk tables
    tenants: int = field(metadata=bounds(1))
    workers: int = field(metadata=bounds(1, 64))
    think_time_s: float = field(metadata=_SECONDS)
    lock_budget_s: float = field(metadata=_POSITIVE)
    release_window_s: float = field(metadata=_SECONDS)
    sample_interval_s: float = field(metadata=_POSITIVE)
    settle_s: float = field(metadata=_SECONDS)


@dataclass(frozen=True)
class AllowedLint:
    revision: str
    rule: str
    reason: str


@dataclass(frozen=True)
class _Squawk:
    pg_version: str = "17.0"
    lock_rules: tuple[str, ...] = ()
    allowed: tuple[AllowedLint, ...] = ()


@dataclass(frozen=True)
class _File:
    """The keys at the top of the file (``profiles`` is read apart)."""

    default: str = "ci"
    payload: dict[str, Any] = field(default_factory=dict)
    payload_unique_keys: tuple[str, ...] = ()
    squawk: _Squawk = field(default_factory=_Squawk)


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
    raw = read_document(path, "create it (see fixtures/rehearsal/profiles.yaml)")
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles"), dict):
        raise ConfigError(where, "profiles", "is missing", "add profiles: {ci: {...}, ga: {...}}")
    top = build(_File, {k: v for k, v in raw.items() if k != "profiles"}, where, "")
    name, entry = choose(where, raw["profiles"], "profiles", profile, PROFILE_ENV, top.default)
    squawk = top.squawk
    return RehearsalConfig(
        path=Path(path), profile=build(RehearsalProfile, entry, where, f"profiles.{name}",
                                       fixed={"name": name}),
        payload=top.payload, payload_unique_keys=top.payload_unique_keys,
        squawk_pg_version=squawk.pg_version, lock_rules=squawk.lock_rules, allowed=squawk.allowed)
