"""squawk's lock rules on SQL-folder revisions: a lock on a table the same file created is advice
(new, empty, no traffic), the same statement on an existing table is a finding, and a REINDEX
without CONCURRENTLY is one of the lock rules. The real squawk binary; basejump's accounts file
(CHECK added right after its CREATE TABLE) is the real-world case."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.migrations import tool_for
from harness.rehearsal.lint import lint_chain
from harness.rehearsal.profile import load_config
from harness.target import load_target

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "fixtures" / "rehearsal" / "profiles.yaml"
BASEJUMP = ROOT / "fixtures" / "targets" / "basejump" / "target.yaml"


def _spec_for(folder: Path):
    spec = load_target(BASEJUMP)
    return replace(spec, migrations=replace(spec.migrations, script_location=folder))


def test_a_lock_on_a_table_created_in_the_same_file_is_advice_not_a_finding(tmp_path):
    (tmp_path / "20240101000000_plans.sql").write_text(
        "-- Rollback: drops plans.\n-- migrate:up\n"
        "create table if not exists public.plans (id bigint primary key, seats int);\n"
        "create index plans_seats on plans (seats);\n"
        "alter table public.plans add constraint seats_positive check (seats > 0);\n"
        "-- migrate:down\ndrop table plans;\n")
    (tmp_path / "20240102000000_plans_index.sql").write_text(
        "-- Rollback: drops the index.\n-- migrate:up\n"
        "create index plans_id_seats on public.plans (id, seats);\n"
        "reindex table public.plans;\n"
        "-- migrate:down\ndrop index plans_id_seats;\n")
    report = lint_chain(tool_for(_spec_for(tmp_path)), load_config(PROFILES, "ci"))
    assert {(h.revision, h.rule) for h in report.findings} == {
        ("20240102000000", "require-concurrent-index-creation"),
        ("20240102000000", "require-concurrent-reindex")}
    new_table = {(h.rule, h.allowed_because) for h in report.advice if h.revision == "20240101000000"
                 and h.allowed_because}
    assert new_table == {
        ("require-concurrent-index-creation", "plans is created earlier in the same revision"),
        ("constraint-missing-not-valid", "public.plans is created earlier in the same revision")}


def test_basejump_adds_its_accounts_check_to_the_table_it_just_created():
    report = lint_chain(tool_for(load_target(BASEJUMP)), load_config(PROFILES, "ci"))
    assert report.findings == ()
    assert any(h.rule == "constraint-missing-not-valid" and h.allowed_because ==
               "basejump.accounts is created earlier in the same revision" for h in report.advice)
