"""The crash rehearsal kills mid-workload however slow the writers are to start: its SIGKILL
waits for every writer's first acknowledged commit, not only for the profile's seconds. A fixed
delay raced the writers' own setup (connect, read the catalog, a first row per table with fsync
on); on a loaded machine the setup outlasted it, nothing was acknowledged before the kill, and
the reference failed S10.backup-restore-rehearsal. A delay of a millisecond shows the race on
any machine: before the fix it always ended with "no transaction was acknowledged"."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from harness.recovery import load_profile, rehearse_crash
from harness.target import load_target
from tests.recovery.test_global_parents import MIGRATION, SPEC

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_kill_waits_for_every_writer_to_commit_once(tmp_path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20240101000000_members.sql").write_text(MIGRATION)
    (tmp_path / "target.yaml").write_text(SPEC)
    spec = load_target(tmp_path / "target.yaml")
    profile = replace(load_profile(ROOT / "fixtures" / "recovery" / "profiles.yaml"),
                      crash_after_seconds=0.001)
    with tempfile.TemporaryDirectory(prefix="harness-recovery-") as folder:
        report = rehearse_crash(spec, Path(folder), profile)
    assert report.findings == [], [f.problem for f in report.findings]
    assert report.acknowledged >= profile.crash_writers
