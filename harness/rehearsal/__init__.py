"""Migration rollback rehearsals: plain checks a suite (or anyone) can call.

``history`` judges heads, branches and rollback notes; ``snapshot`` reads the schema from the
catalog and diffs two snapshots; ``checksums`` compares the data a step must keep; ``walk``
rehearses each revision down and up on seeded data and checks that rolling back leaves no
trace; ``models_match`` compares the models with the migrated schema; ``lint`` runs squawk on
each revision's SQL; ``volume``, ``workload``, ``live`` and ``timeline`` rehearse every step at
volume under tenant traffic and draw what happened. Everything goes through the migration-tool
Protocol of :mod:`harness.migrations`, so Alembic chains and SQL folders are rehearsed alike.
Every failure is a :class:`RehearsalFailure` naming the revision.
"""

from harness.rehearsal.failures import Finding, RehearsalFailure, require_no_findings
from harness.rehearsal.history import history_findings, one_way_doors
from harness.rehearsal.lint import LintReport, lint_chain
from harness.rehearsal.live import LiveRehearsal, rehearse_live
from harness.rehearsal.models_match import model_differences
from harness.rehearsal.profile import RehearsalConfig, RehearsalProfile, load_config
from harness.rehearsal.snapshot import Snapshot, take_snapshot
from harness.rehearsal.timeline import timeline_png
from harness.rehearsal.volume import bulk_tables
from harness.rehearsal.walk import Walk, no_trace, walk_chain

__all__ = [
    "Finding", "LintReport", "LiveRehearsal", "RehearsalConfig", "RehearsalFailure",
    "RehearsalProfile", "Snapshot", "Walk", "bulk_tables", "history_findings", "lint_chain",
    "load_config", "model_differences", "no_trace", "one_way_doors", "rehearse_live",
    "require_no_findings", "take_snapshot", "timeline_png", "walk_chain",
]
