"""The crash-durability workload on a schema whose tenant table references a global catalog with
a unique integer (roles.hierarchy_level): the writers reference the catalog's rows instead of
inventing one per row, so the rehearsal runs and judges durability. The schema is ours, a small
SQL folder written in the test; the clusters, the SIGKILL and the recovery are real."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from harness.recovery import load_profile, rehearse_crash
from harness.target import load_target

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

MIGRATION = """-- Rollback: drops the three tables.
-- migrate:up
create table workspaces (workspace_id uuid primary key default gen_random_uuid(), name text not null);
create table roles (role_id bigint generated always as identity primary key, name text not null,
                    hierarchy_level int not null unique);
create table members (member_id uuid primary key default gen_random_uuid(),
                      workspace_id uuid not null references workspaces,
                      role_id bigint not null references roles, email text not null);
create index on members (workspace_id);
create index on members (role_id);
alter table members enable row level security;
alter table members force row level security;
create policy members_in_workspace on members
  using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
do $$ begin
  execute format('grant select, insert on members, workspaces, roles to %I',
                 current_setting('harness.app_role'));
end $$;
-- migrate:down
drop table members, roles, workspaces;
"""

SPEC = """name: global-catalog
database: {backend: embedded}
migrations: {tool: sql, location: migrations}
app_role: app_user
tenancy:
  column: workspace_id
  root: workspaces
  global_tables: {roles: "the role catalog, the same for every workspace"}
"""


def test_the_crash_workload_references_a_global_catalog_with_a_unique_column(tmp_path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20240101000000_members.sql").write_text(MIGRATION)
    (tmp_path / "target.yaml").write_text(SPEC)
    spec = load_target(tmp_path / "target.yaml")
    profile = replace(load_profile(ROOT / "fixtures" / "recovery" / "profiles.yaml"),
                      crash_after_seconds=1.5)
    with tempfile.TemporaryDirectory(prefix="harness-recovery-") as folder:
        report = rehearse_crash(spec, Path(folder), profile)
    assert report.findings == [], [f.problem for f in report.findings]
    assert report.acknowledged > 0
