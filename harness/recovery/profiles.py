"""Recovery profiles: volume, workload and the recovery time objective, per profile.

``fixtures/recovery/profiles.yaml`` holds a ``ci`` profile (the default, seconds) and a
``launch`` profile (GA volume, not run in CI); ``HARNESS_RECOVERY_PROFILE`` picks one. The file
is read by :mod:`harness.profilefile`: a mistyped or out-of-range field is one line naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.profilefile import bounds, build, choose, read_document

__all__ = ["ENV", "RecoveryProfile", "load_profile"]

ENV = "HARNESS_RECOVERY_PROFILE"


@dataclass(frozen=True)
class RecoveryProfile:
    name: str
    # tenants seeded before the base backup
    tenants: int = field(metadata=bounds(1))
    # rows per tenant table and tenant, before the backup
    rows_per_table: int = field(metadata=bounds(1))
    # rows per table and tenant written between backup and restore point
    rows_after_backup: int = field(metadata=bounds(1))
    # recovery time objective: restore start -> a tenant query served
    rto_seconds: float = field(metadata=bounds(above=0))
    # concurrent writers in the crash rehearsal
    crash_writers: int = field(metadata=bounds(1, 64))
    # how long they write before the SIGKILL
    crash_after_seconds: float = field(metadata=bounds(above=0))


def load_profile(path: Path, name: str | None = None) -> RecoveryProfile:
    """Profile ``name`` (default: ``$HARNESS_RECOVERY_PROFILE`` or ``ci``) from ``path``."""
    where = str(path)
    raw = read_document(path, "see fixtures/recovery/profiles.yaml")
    name, entry = choose(where, raw, "", name, ENV, "ci")
    return build(RecoveryProfile, entry, where, name, fixed={"name": name})
