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

from harness.families import Family, Variant
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

__all__ = ["FAMILY",
    "Finding", "LintReport", "LiveRehearsal", "RehearsalConfig", "RehearsalFailure",
    "RehearsalProfile", "Snapshot", "Walk", "bulk_tables", "history_findings", "lint_chain",
    "load_config", "model_differences", "no_trace", "one_way_doors", "rehearse_live",
    "require_no_findings", "take_snapshot", "timeline_png", "walk_chain",
]

_ROUND_TRIP = "test_each_downgrade_and_upgrade_restores_the_schema_exactly"

# the family: the migration chain rehearsed through the migration-tool Protocol
FAMILY = Family(
    name="migrations", package="harness.rehearsal",
    items=("S01.migration-dry-run", "S04.migration-rollback-rehearsal",
           "S04.migration-lock-safety", "S11.rollback-rehearsal"),
    failure=RehearsalFailure,
    # the models the chain is compared with come from the spec (migrations.metadata)
    capabilities={"models-match": None},
    profile="fixtures/rehearsal/profiles.yaml",
    profile_loader="harness.rehearsal.profile:load_config",
    profile_file_env="HARNESS_REHEARSAL_PROFILES",
    variant_prefix="rehearsal-",
    variants={
        "rehearsal-downgrade-forgets-index": Variant(
            frozenset({"S04.migration-rollback-rehearsal"}), tests={_ROUND_TRIP: "failed"}),
        "rehearsal-downgrade-forgets-policy": Variant(
            frozenset({"S04.migration-rollback-rehearsal"}), tests={_ROUND_TRIP: "failed"}),
        # the snapshot reads column GRANTs (attacl) and storage parameters (reloptions)
        "rehearsal-downgrade-forgets-column-grant": Variant(
            frozenset({"S04.migration-rollback-rehearsal"}), frozenset(), gates=("S04",),
            select=_ROUND_TRIP, tests={_ROUND_TRIP: "failed"}),
        "rehearsal-downgrade-forgets-storage": Variant(
            frozenset({"S04.migration-rollback-rehearsal"}), frozenset(), gates=("S04",),
            select=_ROUND_TRIP, tests={_ROUND_TRIP: "failed"}),
        "rehearsal-lossy-rename": Variant(
            frozenset({"S04.migration-rollback-rehearsal"}),
            tests={"test_data_survives_each_round_trip": "failed"}),
        "rehearsal-table-without-rls": Variant(
            frozenset({"S01.migration-dry-run"}),
            tests={"test_every_new_table_is_tenant_scoped_at_the_revision_that_adds_it": "failed"}),
        # squawk and the live-load rehearsal each catch it on their own
        "rehearsal-blocking-index": Variant(
            frozenset({"S04.migration-lock-safety"}),
            tests={"test_no_revision_runs_a_statement_that_takes_a_heavy_lock": "failed",
                   "test_no_step_stalls_tenant_traffic_past_the_lock_budget": "failed"}),
        "rehearsal-no-rollback-note": Variant(
            frozenset({"S01.migration-dry-run"}),
            tests={"test_history_has_one_head_and_every_revision_says_how_it_rolls_back": "failed"}),
        # a variant of a real schema (fixtures/targets/basejump/variants): a step that rewrites a
        # large table under tenant traffic; the clean basejump, run the same way, meets the item
        "basejump/rewrite-large-table": Variant(
            frozenset({"S04.migration-lock-safety"}), stays_met=frozenset(), gates=("S04",),
            select="test_lock_safety",
            tests={"test_no_revision_runs_a_statement_that_takes_a_heavy_lock": "failed",
                   "test_no_step_stalls_tenant_traffic_past_the_lock_budget": "failed"}),
    },
)
