"""Catalog discovery and the row factory, on a clone of the reference database."""

from __future__ import annotations

import psycopg
import pytest

from harness.core import RowFactory, SeedingFailure, overrides_from

pytestmark = pytest.mark.slow

PROJECTS_AND_TASKS = """
CREATE TABLE projects (
    workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id),
    project_id uuid NOT NULL DEFAULT gen_random_uuid(),
    code varchar(6) NOT NULL CHECK (code ~ '^[A-Z]+$'),
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    priority int NOT NULL CHECK (priority BETWEEN 1 AND 5),
    PRIMARY KEY (workspace_id, project_id)
);
CREATE TABLE tasks (
    workspace_id uuid NOT NULL,
    task_id bigint GENERATED ALWAYS AS IDENTITY,
    project_id uuid NOT NULL,
    assignee uuid NOT NULL REFERENCES users (user_id),
    done boolean NOT NULL,
    meta jsonb NOT NULL,
    due date,
    PRIMARY KEY (workspace_id, task_id),
    FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, project_id)
);
"""


class _Overrides:
    def __init__(self, **per_table):
        self.per_table = per_table

    def row_overrides(self, table):
        return self.per_table.get(table, {})


def test_reference_catalog(catalog_of):
    catalog = catalog_of()
    # the reference's first three tables; the families' tables come after them in the catalog
    assert {"audit_log", "memberships", "workspaces"} <= {t.name for t in catalog.tenant_tables}
    assert catalog.tenant_root.name == "workspaces"
    assert catalog.table("audit_log").app_privileges == {"SELECT", "INSERT"}
    assert catalog.table("public.memberships").rls_forced
    assert {p.command for p in catalog.table("memberships").policies} == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert catalog.security_definer_functions == ()
    assert all(v.security_invoker for v in catalog.views if not v.materialized)


def test_a_table_added_later_is_discovered_and_seeded(owner_conn, catalog_of, fresh_database):
    """No test names projects or tasks: the catalog finds them, the factory fills them."""
    owner_conn.execute(PROJECTS_AND_TASKS)
    catalog = catalog_of()
    assert {"projects", "tasks"} <= {t.name for t in catalog.tenant_tables}
    factory = RowFactory(owner_conn, catalog, fresh_database.spec.tenant_setting,
                         overrides_from(_Overrides(projects={"code": "ABC"})))
    tenant = factory.new_tenant()
    task = factory.insert("tasks", tenant)
    assert task.values["workspace_id"] == tenant and task.values["done"] is True
    project = owner_conn.execute("select workspace_id, status, priority from projects where project_id = %s",
                                 (task.values["project_id"],)).fetchone()
    # the parent is in the same tenant, and every check holds
    assert project[:2] == (tenant, "open") and 1 <= project[2] <= 5


def test_a_value_a_check_accepted_before_is_asked_again_once_the_database_refuses_it(
        owner_conn, catalog_of, fresh_database):
    """The factory trusts the candidate a check accepted for an earlier row instead of asking
    again; a check that stops holding as the counter grows (``tally < 4``) is refused by the
    insert, and the row is built again with every value asked: all rows land, each valid."""
    owner_conn.execute("CREATE TABLE tallies (workspace_id uuid NOT NULL REFERENCES workspaces "
                       "(workspace_id), tally int NOT NULL CHECK (tally < 4), "
                       "label text NOT NULL CHECK (length(label) > 0))")
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting)
    tenant = factory.new_tenant()
    asked = []
    ask = factory.chooser._accepted
    factory.chooser._accepted = lambda *a: asked.append(a[0].name) or ask(*a)
    rows = [factory.insert("tallies", tenant) for _ in range(12)]
    assert all(r.values["tally"] < 4 for r in rows)
    assert owner_conn.execute("select count(*), max(tally) from tallies").fetchone()[0] == 12
    # asked on the first row and again only where the insert was refused, not for every row
    assert 2 <= asked.count("tally") < 12 and asked.count("label") < 12


def test_two_factories_writing_at_once_make_distinct_values_for_a_unique_handle(
        owner_conn, catalog_of, fresh_database):
    """A unique handle whose check allows only letters and digits (graphile-starter's
    ``users.username``) takes the factory's last text shape; concurrent writers each have a
    factory and a counter of their own, so the shape carries a random token too: one row from
    each of two factories, in turn, never meets the other's (before: both wrote ``x2``)."""
    owner_conn.execute("CREATE TABLE handles (workspace_id uuid NOT NULL REFERENCES workspaces "
                       "(workspace_id), handle text NOT NULL UNIQUE CHECK (length(handle) <= 24 "
                       "AND handle ~ '^[a-zA-Z]([_]?[a-zA-Z0-9])+$'))")
    one, two = (RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting) for _ in range(2))
    tenant = one.new_tenant()
    for _ in range(5):
        one.insert("handles", tenant)
        two.insert("handles", tenant)
    handles = [r[0] for r in owner_conn.execute("select handle from handles")]
    assert len(handles) == len(set(handles)) == 10


def test_what_the_catalog_cannot_solve_asks_for_an_override(owner_conn, catalog_of, fresh_database):
    owner_conn.execute(PROJECTS_AND_TASKS)
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting)
    with pytest.raises(SeedingFailure) as err:
        factory.insert("projects", factory.new_tenant())
    text = str(err.value)
    assert "public.projects.code" in text and "row_overrides('projects')" in text


def test_a_type_without_a_generic_value_asks_for_an_override(owner_conn, catalog_of, fresh_database):
    owner_conn.execute("CREATE TABLE places (workspace_id uuid NOT NULL, spot point NOT NULL)")
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting)
    with pytest.raises(SeedingFailure, match="has type point"):
        factory.insert("places", factory.new_tenant())
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting,
                         overrides_from(_Overrides(places={"spot": lambda: "(1,2)"})))
    assert factory.insert("places", factory.new_tenant()).values["spot"] is not None


def test_the_reference_adapter_seeds_plain_members(owner_conn, catalog_of, target_adapter, fresh_database):
    factory = RowFactory(owner_conn, catalog_of(), fresh_database.spec.tenant_setting,
                         overrides_from(target_adapter))
    row = factory.insert("memberships", factory.new_tenant())
    assert row.values["role"] == "member" and row.values["status"] == "active"
    assert overrides_from(object())("memberships") == {}


def test_a_pgvector_table_is_seeded(owner_conn, catalog_of, fresh_database):
    """Retrieval (S07) adds embedding tables: the factory fills vector columns of any width."""
    if owner_conn.execute("select 1 from pg_available_extensions where name = 'vector'").fetchone() is None:
        pytest.skip("pgvector is not installed on this server")
    owner_conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    owner_conn.execute("CREATE TABLE probe_chunks (workspace_id uuid NOT NULL REFERENCES workspaces, "
                       "probe_chunk_id bigint GENERATED ALWAYS AS IDENTITY, body text NOT NULL, "
                       "embedding vector(4) NOT NULL, PRIMARY KEY (workspace_id, probe_chunk_id))")
    catalog = catalog_of()
    assert "probe_chunks" in {t.name for t in catalog.tenant_tables}
    factory = RowFactory(owner_conn, catalog, fresh_database.spec.tenant_setting)
    row = factory.insert("probe_chunks", factory.new_tenant())
    assert owner_conn.execute("select vector_dims(embedding) from probe_chunks where probe_chunk_id = %s",
                              (row.values["probe_chunk_id"],)).fetchone() == (4,)


def test_a_refused_row_undoes_only_itself_and_the_binding_stays_in_its_transaction(
        owner_conn, catalog_of, fresh_database):
    """Each row goes in a transaction of its own (a savepoint inside the caller's), opened with
    the binding's settings in one message: a row the database refuses is undone alone, the
    caller's transaction and its earlier rows go on, the setting never outlives the row's own
    transaction on an autocommit connection, and the connection is left as it was found."""
    owner_conn.execute("CREATE TABLE notes (workspace_id uuid NOT NULL REFERENCES workspaces "
                       "(workspace_id), body text NOT NULL CHECK (length(body) < 40))")
    setting = fresh_database.spec.tenant_setting
    factory = RowFactory(owner_conn, catalog_of(), setting)
    tenant = factory.new_tenant()
    factory.insert("notes", tenant, {"body": "kept"})
    assert owner_conn.info.transaction_status.name == "IDLE"
    assert owner_conn.execute("select current_setting(%s, true)", (setting,)).fetchone()[0] in (None, "")
    with owner_conn.transaction():
        factory.insert("notes", tenant, {"body": "in the caller's transaction"})
        with pytest.raises(psycopg.errors.CheckViolation):
            factory.insert("notes", tenant, {"body": "x" * 50})
        # the caller's transaction goes on after the refusal, its row still there
        assert owner_conn.execute("select count(*) from notes").fetchone()[0] == 2
        assert owner_conn.execute("select current_setting(%s)", (setting,)).fetchone()[0] == str(tenant)
        raise psycopg.Rollback()   # the caller gives up: its rows go with it
    with pytest.raises(psycopg.errors.CheckViolation):
        factory.insert("notes", tenant, {"body": "y" * 50})
    assert owner_conn.info.transaction_status.name == "IDLE"
    assert [r[0] for r in owner_conn.execute("select body from notes")] == ["kept"]
