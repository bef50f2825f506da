"""Recovery profiles: volume, workload and the recovery time objective, per profile.

``fixtures/recovery/profiles.yaml`` holds a ``ci`` profile (the default, seconds) and a
``launch`` profile (GA volume, not run in CI); ``HARNESS_RECOVERY_PROFILE`` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import ConfigError

__all__ = ["RecoveryProfile", "load_profile"]

ENV = "HARNESS_RECOVERY_PROFILE"


@dataclass(frozen=True)
class RecoveryProfile:
    name: str
    tenants: int                 # tenants seeded before the base backup
    rows_per_table: int          # rows per tenant table and tenant, before the backup
    rows_after_backup: int       # rows per table and tenant written between backup and restore point
    rto_seconds: float           # recovery time objective: restore start -> a tenant query served
    crash_writers: int           # concurrent writers in the crash rehearsal
    crash_after_seconds: float   # how long they write before the SIGKILL


def load_profile(path: Path, name: str | None = None) -> RecoveryProfile:
    name = name or os.environ.get(ENV) or "ci"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), "", f"cannot be read ({type(exc).__name__})", "fix the YAML") from None
    if not isinstance(raw, dict) or name not in raw:
        raise ConfigError(str(path), name, "no such profile",
                          f"use one of {', '.join(raw) if isinstance(raw, dict) else 'ci, launch'} "
                          f"(set {ENV})")
    fields = raw[name]
    try:
        return RecoveryProfile(name=name, **fields)
    except TypeError as exc:
        raise ConfigError(str(path), name, str(exc), "see the ci profile for the fields") from None
