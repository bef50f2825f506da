"""tenancy.scoped_through: a child table without the tenant column, scoped through its parent
(order_items through orders), is judged by behaviour for S00.tenant-column-convention, seeded
through its parent by the row factory (the migration walk included), and a child policy that
does not follow the parent is caught. basejump has no such table (every table carries
account_id), so the schema is ours: a small SQL folder written in the test, on a real server."""

from __future__ import annotations

import pytest

from harness import migrations
from harness.migrations import tool_for
from harness.rehearsal import walk_chain
from harness.standards.lints import tenant_column_findings
from harness.standards.scoped import scoped_findings
from harness.target import load_target

pytestmark = pytest.mark.slow

CHILD_POLICY = """create policy items_through_order on order_items using (exists (
  select 1 from orders o where o.order_id = order_items.order_id
     and o.workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid));"""
LEAKY_POLICY = "create policy items_for_all on order_items using (true);"

MIGRATION = """-- Rollback: drops the shop.
-- migrate:up
create table workspaces (workspace_id uuid primary key default gen_random_uuid(), name text not null);
create table orders (order_id uuid primary key default gen_random_uuid(),
                     workspace_id uuid not null references workspaces, total int not null);
create table order_items (item_id uuid primary key default gen_random_uuid(),
                          order_id uuid references orders on delete cascade, sku text not null);
create index on orders (workspace_id);
create index on order_items (order_id);
alter table workspaces enable row level security;
alter table workspaces force row level security;
create policy own_workspace on workspaces
  using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
alter table orders enable row level security;
alter table orders force row level security;
create policy own_orders on orders
  using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
alter table order_items enable row level security;
alter table order_items force row level security;
{child_policy}
do $$ begin
  execute format('grant select, insert, update, delete on workspaces, orders, order_items to %I',
                 current_setting('harness.app_role'));
end $$;
-- migrate:down
drop table order_items, orders, workspaces;
"""

SPEC = """name: shop
database: {backend: embedded}
migrations: {tool: sql, location: migrations}
app_role: app_user
tenancy:
  column: workspace_id
  root: workspaces
  scoped_through: {order_items: orders}
"""


def _shop(tmp_path, policy: str):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20240101000000_shop.sql").write_text(
        MIGRATION.replace("{child_policy}", policy))
    (tmp_path / "target.yaml").write_text(SPEC)
    return load_target(tmp_path / "target.yaml")


@pytest.fixture
def database(harness_run):
    db = harness_run.create_empty("scoped")
    yield db
    harness_run.drop(db)


def test_a_child_scoped_through_its_parent_meets_the_convention_by_behaviour(tmp_path, database):
    spec = _shop(tmp_path, CHILD_POLICY)
    migrations.upgrade(spec, database.owner)
    with database.connect_owner(autocommit=True) as conn:
        assert tenant_column_findings(conn, spec) == []
        assert scoped_findings(conn, spec) == []
        # nothing of the probe stays behind
        assert conn.execute("select count(*) from order_items").fetchone()[0] == 0


def test_a_child_policy_that_ignores_the_parent_is_a_leak(tmp_path, database):
    spec = _shop(tmp_path, LEAKY_POLICY)
    migrations.upgrade(spec, database.owner)
    with database.connect_owner(autocommit=True) as conn:
        found = scoped_findings(conn, spec)
    assert [(f.subject, f.check) for f in found] == [("public.order_items", "scoped-leak")]


def test_without_the_declaration_the_child_is_a_table_with_no_tenant_column(tmp_path, database):
    spec = _shop(tmp_path, CHILD_POLICY)
    undeclared = spec.__class__(**{**spec.__dict__, "tenancy": spec.tenancy.__class__(
        **{**spec.tenancy.__dict__, "scoped_through": {}})})
    migrations.upgrade(spec, database.owner)
    with database.connect_owner(autocommit=True) as conn:
        assert [(f.subject, f.check) for f in tenant_column_findings(conn, undeclared)] == [
            ("public.order_items", "tenant-column")]


def test_the_walk_seeds_the_child_through_a_parent_in_the_tenant(tmp_path, database):
    spec = _shop(tmp_path, CHILD_POLICY)
    walk = walk_chain(tool_for(spec), spec, database)
    assert (walk.forward, walk.data, walk.posture, walk.round_trip) == ([], [], [], [])
    assert walk.steps[0].checksums["order_items"].endswith("(1 rows)")
