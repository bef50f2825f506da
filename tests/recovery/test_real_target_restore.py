"""The point-in-time restore rehearsal on a real schema written by others (graphile-starter,
fixtures/targets/graphile-starter): its requests are bound by a session id, which only the
product makes, so the rehearsal's tenants are made by the target adapter's ``create_tenant``.
Bound as such a principal, the tenant sees its rows on the source and on the restored copy, and
the rehearsal finds nothing; made by the harness alone (no adapter) the principal has no session
and sees nothing, which the rehearsal says instead of comparing two empty views; and the
misconfigured archive of the reference's known-bad variant fails it here too. Its logical dump
restores too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from harness.children import scratch_dir
from harness.lifecycle import Run
from harness.recovery.logical import rehearse_logical
from harness.recovery.profiles import RecoveryProfile
from harness.recovery.restore import rehearse_restore
from harness.standards.preflight import preflight
from harness.target import load_target

GRAPHILE = Path(__file__).resolve().parents[2] / "fixtures" / "targets" / "graphile-starter" / "target.yaml"
PROFILE = RecoveryProfile("test", tenants=2, rows_per_table=3, rows_after_backup=1, rto_seconds=120,
                          crash_writers=1, crash_after_seconds=1)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graphile():
    return load_target(GRAPHILE, backend="embedded", check_imports=False)


def _kinds(report) -> set[str]:
    return {f.check for f in report.findings}


def test_graphile_restores_to_the_point_and_its_tenant_sees_the_same_rows(graphile):
    with scratch_dir("harness-recovery-") as folder:
        report = rehearse_restore(graphile, folder, PROFILE)
    assert report.findings == [], report.summary()
    assert report.rows_at_restore_point > 0 and report.recovery_seconds is not None


def test_without_the_adapter_the_principal_sees_nothing_and_the_rehearsal_says_so(graphile):
    with scratch_dir("harness-recovery-") as folder:
        report = rehearse_restore(replace(graphile, adapter=None), folder, PROFILE)
    assert "restored-rls" in _kinds(report), report.summary()
    assert any("saw none of its rows" in f.problem for f in report.findings), report.summary()


def test_an_archive_that_keeps_nothing_fails_the_restore_of_graphile(graphile):
    drops = replace(graphile, standards=replace(graphile.standards, archive_command="test -n %p && test -n %f"))
    with scratch_dir("harness-recovery-") as folder:
        report = rehearse_restore(drops, folder, PROFILE)
    assert {"point-in-time-recovery", "archive-lag"} & _kinds(report), report.summary()


def test_graphile_dumped_and_restored_brings_one_tenants_rows_back(graphile):
    """pg_restore creates the dump's extensions again (the platform stub's stand-ins for
    pgcrypto and uuid-ossp are found by every session of the migrating role, as installed
    extensions are) and one tenant's rows come back unchanged, RLS as it was."""
    with scratch_dir("harness-recovery-") as folder:
        report = rehearse_logical(graphile, folder, PROFILE)
    assert report.findings == [] and report.tenant_rows > 0, report.summary()


def test_the_preflight_of_a_run_on_a_copy_of_the_cluster_finds_the_extensions_installed(graphile, new_run_id):
    """A run starts from the cached, migrated cluster copied into its own folder, where the
    stand-ins' control files are no longer on the server's search path; the extensions are
    installed in the database all the same, and the preflight of the spec (which allows them in
    standards.extensions) takes installed for available: no problem found."""
    run = Run(graphile, new_run_id())
    run.acquire()
    try:
        run.template()
        with run.fresh_database("preflight") as db:
            with psycopg.connect(db.owner.conninfo()) as conn:
                installed = {r[0] for r in conn.execute("select extname from pg_extension")}
            assert {"pgcrypto", "uuid-ossp", "citext"} <= installed
            assert preflight(graphile, db.owner) == []
    finally:
        run.release()
