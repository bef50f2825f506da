"""The row factory's bulk path (``RowFactory.insert_many``): COPY from one valid row, the
tenant's settings seen by triggers, a staging table where row-level security applies to the
seeding role, and the one-by-one fallback where a copy is refused."""

from __future__ import annotations

import uuid

import pytest
from psycopg import sql

from harness.core import RowFactory, overrides_from
from harness.core.bulk import bulk_shape

pytestmark = pytest.mark.slow

STAMPED = """
CREATE TABLE stamped (
    workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id),
    stamp_id uuid NOT NULL DEFAULT gen_random_uuid(),
    seen_tenant text NOT NULL,
    label text NOT NULL,
    PRIMARY KEY (workspace_id, stamp_id)
);
CREATE FUNCTION stamp_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.seen_tenant := current_setting('app.workspace_id', true);
    RETURN NEW;
END $$;
CREATE TRIGGER stamped_tenant BEFORE INSERT ON stamped FOR EACH ROW EXECUTE FUNCTION stamp_tenant();
"""


def _no_fallback(factory: RowFactory) -> list:
    """The tables the factory would insert one by one (it must not, for the test to prove the
    bulk path): recorded instead of inserted."""
    inserted_one_by_one: list = []
    factory.insert = lambda table, tenant, fixed=None: inserted_one_by_one.append(table)
    return inserted_one_by_one


def _count(conn, table: str, tenant) -> int:
    return conn.execute(sql.SQL("select count(*) from {} where workspace_id = %s").format(
        sql.Identifier(table)), (tenant,)).fetchone()[0]


def test_every_reference_table_is_copied_for_its_tenant(owner_conn, fresh_database, catalog_of):
    """Every tenant table of the reference gets its rows by COPY (none falls back to one by
    one), each row in the tenant's name: the app role bound as that tenant sees them all."""
    spec = fresh_database.spec
    catalog = catalog_of()
    adapter = spec.load_adapter_class()(fresh_database)
    factory = RowFactory(owner_conn, catalog, spec.binding, overrides_from(adapter))
    tenant = factory.new_tenant()
    inserted_one_by_one = _no_fallback(factory)
    root = catalog.tenant_root
    tables = [t for t in catalog.tenant_tables if t.qualified != root.qualified]
    for table in tables:
        assert factory.insert_many(table, tenant, 12) == 12
    assert inserted_one_by_one == []
    for table in tables:
        assert _count(owner_conn, table.name, tenant) >= 12, table.qualified


def test_triggers_see_the_tenant_and_fallback_keeps_the_count(owner_conn, fresh_database, catalog_of):
    """A trigger reading the binding's setting sees the row's tenant in a COPY; a unique index
    the shape cannot know (not a constraint) refuses the copy, and the rows come one by one."""
    owner_conn.execute(STAMPED)
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting)
    tenant = factory.new_tenant()
    one_by_one = _no_fallback(factory)
    assert factory.insert_many("stamped", tenant, 30) == 30
    assert one_by_one == [] and _count(owner_conn, "stamped", tenant) == 30
    seen = owner_conn.execute("select distinct seen_tenant from stamped").fetchall()
    assert seen == [(str(tenant),)]
    owner_conn.execute("delete from stamped")
    owner_conn.execute("create unique index stamped_one_label on stamped (workspace_id, label)")
    catalog = catalog_of()
    assert bulk_shape(catalog.table("stamped"), "workspace_id") is not None   # the index is unseen
    factory = RowFactory(owner_conn, catalog, fresh_database.spec.tenant_setting)
    tenant = factory.new_tenant()
    assert factory.insert_many("stamped", tenant, 8) == 8
    assert _count(owner_conn, "stamped", tenant) == 8
    assert owner_conn.execute("select count(distinct label) from stamped").fetchone()[0] == 8


def test_a_role_under_forced_rls_seeds_through_a_staging_table(owner_conn, fresh_database, catalog_of):
    """COPY FROM refuses a table whose row-level security applies to the role: the rows go
    through a staging table and one INSERT ... SELECT, which the policy's WITH CHECK judges."""
    owner_conn.execute(STAMPED)
    role = f"bulk_seeder_{uuid.uuid4().hex[:8]}"   # roles belong to the server: one per test run
    owner_conn.execute(f"""
        CREATE ROLE {role} NOLOGIN;
        GRANT USAGE ON SCHEMA public TO {role};
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
        ALTER TABLE stamped OWNER TO {role};
        ALTER TABLE stamped ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
        CREATE POLICY own_tenant ON stamped
            USING (workspace_id = current_setting('app.workspace_id', true)::uuid)
            WITH CHECK (workspace_id = current_setting('app.workspace_id', true)::uuid);
    """)
    catalog = catalog_of()
    factory = RowFactory(owner_conn, catalog, fresh_database.spec.tenant_setting)
    tenant = factory.new_tenant()
    one_by_one = _no_fallback(factory)
    try:
        owner_conn.execute(f"set role {role}")
        assert owner_conn.execute("select row_security_active('stamped')").fetchone()[0]
        assert factory.insert_many("stamped", tenant, 25) == 25
    finally:
        owner_conn.execute("reset role")
    assert one_by_one == []
    assert _count(owner_conn, "stamped", tenant) == 25
    owner_conn.execute(f"drop owned by {role} cascade; drop role {role}")
