"""The cross-tenant matrix and the pool check, on the reference and on clones broken on purpose."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from psycopg import sql

from harness.isolation import IsolationFailure, pool_leak_probes, require_passed

pytestmark = pytest.mark.slow


def _failed(probes):
    return sorted({(p.table, p.command, p.case) for p in probes if not p.passed})


def _all_cases(matrix, fresh_conn):
    return [*matrix.reads(), *matrix.foreign_writes(), *matrix.fail_closed(fresh_conn),
            *matrix.fail_closed(), *matrix.own_crud()]


def test_the_reference_passes_every_case(matrix_of, target_adapter, fresh_database):
    matrix = matrix_of(target_adapter)
    with fresh_database.connect_app() as fresh:
        probes = _all_cases(matrix, fresh)
    assert _failed(probes) == []
    cases = {(p.table, p.case) for p in probes}
    # 11 cases per tenant table, the root's unfiltered DELETE (A's whole tenant) included
    tables = {p.table for p in probes}
    assert {"public.workspaces", "public.memberships", "public.audit_log"} <= tables
    assert len(cases) == 11 * len(tables)
    assert ("public.workspaces", "delete-unfiltered") in cases
    refused = [p for p in probes if p.table == "public.audit_log" and p.command in ("UPDATE", "DELETE")
               and p.case not in ("fail-closed",)]
    assert refused and all("permission denied" in p.observed for p in refused)


def test_a_using_true_select_policy_leaks_and_the_failure_shows_it(owner_conn, matrix_of, target_adapter):
    owner_conn.execute("CREATE POLICY directory ON memberships FOR SELECT USING (true)")
    matrix = matrix_of(target_adapter)
    probes = matrix.reads()
    assert _failed(probes) == [("public.memberships", "SELECT", "read-own")]
    with pytest.raises(IsolationFailure) as err:
        require_passed(probes, "reads")
    title, text = err.value.context[0]
    assert title == "public.memberships SELECT [read-own]"
    assert f"tenant bound: A (workspace_id={matrix.a.tenant})" in text
    assert 'sql: select "workspace_id", "workspace_id", "user_id" from "public"."memberships"' in text
    assert f"workspace_id={matrix.b.tenant}" in text  # B's rows, as they leaked
    assert "2 of a tenant A is not a member of" in text


@pytest.mark.parametrize(("ddl", "expected"), [
    # aimed probes read workspace_id, which brings the (sound) SELECT policy in: only the
    # unfiltered statement shows a too-broad UPDATE or DELETE policy
    ("CREATE POLICY wide ON memberships FOR UPDATE USING (true)",
     [("public.memberships", "UPDATE", "update-unfiltered")]),
    ("CREATE POLICY wide ON memberships FOR DELETE USING (true)",
     [("public.memberships", "DELETE", "delete-unfiltered")]),
    # rejected in the end, but by audit_log's policy on the trigger's row, not by memberships'
    ("CREATE POLICY wide ON memberships FOR INSERT WITH CHECK (true)",
     [("public.memberships", "INSERT", "insert-other")]),
])
def test_broken_write_policies_are_caught(owner_conn, matrix_of, target_adapter, ddl, expected):
    owner_conn.execute(ddl)
    assert _failed(matrix_of(target_adapter).foreign_writes()) == expected


def test_a_missing_delete_policy_fails_the_positive_twin(owner_conn, matrix_of, target_adapter):
    owner_conn.execute("DROP POLICY memberships_delete_own_workspace ON memberships")
    assert _failed(matrix_of(target_adapter).own_crud()) == [("public.memberships", "DELETE", "own-delete")]


def test_a_default_tenant_on_the_database_fails_closed_checks(owner_conn, matrix_of, target_adapter,
                                                              fresh_database):
    matrix = matrix_of(target_adapter)
    owner_conn.execute(sql.SQL("ALTER DATABASE {} SET app.workspace_id = {}").format(
        sql.Identifier(fresh_database.name), sql.Literal(str(matrix.a.tenant))))
    with fresh_database.connect_app() as fresh:
        failed = _failed(matrix.fail_closed(fresh))
    assert ("public.memberships", "SELECT", "fail-closed") in failed
    assert ("public.memberships", "INSERT", "fail-closed") in failed


def test_the_pool_check_passes_on_the_reference(matrix_of, target_adapter, fresh_database, catalog_of):
    matrix = matrix_of(target_adapter)
    probes = pool_leak_probes(fresh_database, catalog_of(), matrix.a.tenant)
    assert _failed(probes) == []
    assert {p.case for p in probes} >= {"pool-reuse [committed]", "pool-setting [returned mid-transaction]"}


@contextmanager
def _session_binding(conn, binding, principal):
    """The classic bug: set_config(..., false) binds the whole session, not the transaction."""
    with conn.transaction():
        for setting in binding.settings:
            conn.execute("select set_config(%s, %s, false)", (setting, str(principal.tenant_id)))
        yield conn


def test_the_pool_check_catches_a_session_level_binding(matrix_of, target_adapter, fresh_database, catalog_of):
    matrix = matrix_of(target_adapter)
    probes = pool_leak_probes(fresh_database, catalog_of(), matrix.a.tenant, binder=_session_binding)
    failed = _failed(probes)
    assert ("(connection)", "SHOW", "pool-setting [committed]") in failed
    assert ("public.memberships", "SELECT", "pool-rows [committed]") in failed


def test_an_unfiltered_delete_lists_exactly_the_other_tenant_rows_it_touched(owner_conn, matrix_of,
                                                                            target_adapter):
    """Evidence that does not mislead: a too-broad DELETE policy shows the rows of B it deleted
    (read back in the same transaction), and a sound one lists no row at all."""
    matrix = matrix_of(target_adapter)
    sound = next(p for p in matrix.foreign_writes()
                 if p.table == "public.memberships" and p.case == "delete-unfiltered")
    assert sound.passed and sound.rows == () and "0 row(s) of tenants A is not a member of" in sound.observed
    owner_conn.execute("CREATE POLICY wide ON memberships FOR DELETE USING (true)")
    broken = next(p for p in matrix.foreign_writes()
                  if p.table == "public.memberships" and p.case == "delete-unfiltered")
    assert not broken.passed
    assert broken.rows and {str(r["workspace_id"]) for r in broken.rows} <= {
        str(t) for t in _other_tenants(owner_conn, matrix)}
    seeded_b = {str(r.values["user_id"]) for r in matrix.b.rows["public.memberships"]}
    assert seeded_b <= {str(r["user_id"]) for r in broken.rows}


def _other_tenants(conn, matrix):
    return [r[0] for r in conn.execute("select workspace_id from workspaces where workspace_id <> %s",
                                       (matrix.a.tenant,))]
