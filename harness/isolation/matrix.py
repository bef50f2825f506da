"""The cross-tenant matrix: per tenant table and per command, what a bound tenant can do.

Given two seeded tenants A and B and a connection as the app role, each case runs one statement
per tenant table inside a transaction that is always rolled back, so the seeds never change
between cases, and records a :class:`Probe`: the table, the command, the tenant bound, the SQL,
what was expected, what happened, and the rows that leaked.

- **reads**: bound to A, SELECT sees every row of A and no row of another tenant.
- **foreign writes**: bound to A, UPDATE and DELETE aimed at B's rows touch 0 rows; an UPDATE or
  DELETE with *no* WHERE touches exactly A's rows (PostgreSQL applies SELECT policies as well
  whenever a statement reads a column, so only an unfiltered statement shows a too-broad UPDATE
  or DELETE policy on its own); an INSERT carrying B's tenant id and an UPDATE moving A's rows
  to B are rejected by the table's own policy.
- **fail closed**: as the caller with no principal (the spec's ``anonymous`` caller, else the
  binding's role with nothing set), reads see nothing and writes change nothing.
- **own CRUD** (the positive twin, so the negatives are not vacuous): bound to A, INSERT,
  UPDATE and DELETE of A's own rows succeed, except the commands the spec's
  ``tenancy.write_paths`` says the product never runs directly on that table (they go through
  its functions or triggers): those are run and shown, never demanded.

**Principals belong to sets of tenants.** "Another tenant" is one the principal is not a member
of (:mod:`harness.isolation.principals`): a read passes when every visible row belongs to one of
the principal's tenants and every row seeded for it is visible. Where the target has memberships,
a third principal C is seeded and A joins C's tenant, so A belongs to two tenants and shares one
with C; both are read.

**Refusals are judged by effect.** A statement is refused when it changed nothing and raised
42501 on the table itself, or a SQLSTATE the spec lists under ``tenancy.refusals`` (P0001 from a
trigger's ``RAISE EXCEPTION``); an UPDATE that touches nothing changed nothing. The unfiltered
UPDATE and DELETE are judged by which rows of other tenants they touched, read back by the owner
in the same transaction: the evidence lists exactly those rows, never untouched ones.

A command the app role has no privilege for must be refused with "permission denied" in every
case, positive ones included: that is how an append-only table such as ``audit_log`` is
protected. A table with RLS on and no policy at all for the acting role is deny-by-default by
design (reached only through functions): its positive twin expects nothing to be allowed.

The tenant root (``workspaces``, ``core.accounts``: keyed by the tenant id) is in the matrix too.
It takes a fresh tenant id where other tables take B's, since B's id is already its key. Its
unfiltered DELETE deletes A's whole tenant (rolled back like every case): where the schema
cascades, through every table that references it, seeded memberships and audit rows included.
It must touch no other tenant and finish or be refused: a trigger that breaks a tenant's
deletion (an audit row written for a tenant being deleted, failing its foreign key) fails it,
as a refusal could not tell which rows it would have touched. When the spec names
the root's owner column (``tenancy.root_owner``), :meth:`TenantMatrix.ownership` checks that A
may not create a root row naming B's principal as its owner: who may own a tenant is the role
model's question (S03.role-matrix), not a read or write across tenants.

Every probe binds through :func:`harness.tenancy.bind` with the tenant's principal (the
binding's role and settings); "no tenant bound" takes the binding's role and binds no setting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql

from harness.core.catalog import Catalog, Table
from harness.core.rows import RowFactory, Statement
from harness.isolation.probes import SHOWN_ROWS, Judge, Outcome, Probe, require_passed
from harness.isolation.seeding import SeededTenant, seed_tenants
from harness.isolation.statements import MatrixStatements
from harness.target import AnonymousSpec, BindingSpec, TenancySpec
from harness.tenancy import Principal, bind, bind_anonymous

# Probe, SeededTenant, require_passed and seed_tenants live in probes and seeding; they stay
# importable from here, where the modules and suites that use them have always found them
__all__ = ["Probe", "SeededTenant", "TenantMatrix", "require_passed", "seed_tenants"]


class TenantMatrix:
    """The matrix cases for every tenant table of the factory's catalog, run through ``conn``."""

    def __init__(self, conn: psycopg.Connection, factory: RowFactory, a: SeededTenant,
                 b: SeededTenant, binding: str | BindingSpec | None = None, *,
                 c: SeededTenant | None = None, tenancy: TenancySpec | None = None,
                 anonymous: AnonymousSpec | None = None, app_role: str | None = None) -> None:
        self.conn, self.factory, self.a, self.b, self.c = conn, factory, a, b, c
        self.catalog: Catalog = factory.catalog
        if binding is None:
            binding = factory.binding
        self.binding = BindingSpec.for_setting(binding) if isinstance(binding, str) else binding
        self.col = self.catalog.tenant_column
        self.tenancy = tenancy or TenancySpec(column=self.col)
        self.anonymous = anonymous
        self.app_role = app_role   # the login role; None: the catalog's acting role
        self.statements = MatrixStatements(factory, a)

    # -- the cases ---------------------------------------------------------------------------
    def reads(self) -> list[Probe]:
        """As A and, where seeded, as C (who shares a tenant with A): exactly their tenants' rows."""
        readers = [self.a] + ([self.c] if self.c is not None else [])
        return [self._read(t, who) for who in readers for t in self.catalog.tenant_tables]

    def foreign_writes(self) -> list[Probe]:
        probes = []
        for t in self.catalog.tenant_tables:
            probes += [self._aimed_at_b(t, "UPDATE"), self._aimed_at_b(t, "DELETE"),
                       self._unfiltered(t, "UPDATE"), self._unfiltered(t, "DELETE")]
            if not (self._is_root(t) and self.factory.root_owner is not None):
                probes.append(self._insert_foreign(t))
            probes.append(self._move_to_foreign(t))
        return probes

    def ownership(self) -> list[Probe]:
        """A may not create a tenant root naming B's principal as its owner (``root_owner``)."""
        root = self.catalog.tenant_root
        if root is None or self.factory.root_owner is None:
            return []
        return [self._insert_foreign(root)]

    def fail_closed(self, conn: psycopg.Connection | None = None) -> list[Probe]:
        """As the caller with no principal on ``conn`` (default: the matrix's own, bound before)."""
        conn = conn or self.conn
        with conn.transaction(force_rollback=True):
            state = {name: conn.execute("select current_setting(%s, true)", (name,)).fetchone()[0]
                     for name in self.binding.settings}
        anon_role = self.anonymous.role if self.anonymous and self.anonymous.role else self.binding.role
        role = f"role {anon_role}, " if anon_role else ""
        tenant = f"none ({role}current_setting: {state!r})"
        nothing = "0 rows or an error"
        probes = []
        for t in self.catalog.tenant_tables:
            insert = self.statements.insert(t, self._foreign_id(t, self.a.tenant))
            probes += [
                self._probe(t, "SELECT", "fail-closed", None, tenant, self.statements.select(t), nothing,
                            lambda o: o.error is not None or not o.rows, leaked=True, conn=conn),
                self._probe(t, "INSERT", "fail-closed", None, tenant, insert, "rejected (an error)",
                            lambda o: o.error is not None, shown=[self.statements.row_of(t, insert)], conn=conn),
                self._probe(t, "UPDATE", "fail-closed", None, tenant, self.statements.touch(t, None), nothing,
                            lambda o: o.error is not None or o.rowcount == 0, conn=conn),
                self._probe(t, "DELETE", "fail-closed", None, tenant, self.statements.delete(t, None), nothing,
                            lambda o: o.error is not None or o.rowcount == 0, conn=conn),
            ]
        return probes

    def own_crud(self) -> list[Probe]:
        probes = []
        for t in self.catalog.tenant_tables:
            probes += [self._own_insert(t), self._own_update(t), self._own_delete(t)]
        return [self._elsewhere(p) for p in probes]

    def _elsewhere(self, probe: Probe) -> Probe:
        """A positive control for a command the product never runs directly is shown, not demanded."""
        path = self.tenancy.not_written_directly(probe.table, probe.command)
        if path is None or probe.passed:
            return probe
        return replace(probe, passed=True, rows=(),
                       expected=f"not demanded: {probe.command} on {probe.table} is not a direct "
                                f"product path (tenancy.write_paths: {path})")

    # -- one probe per case ------------------------------------------------------------------
    def _read(self, t: Table, who: SeededTenant) -> Probe:
        seeded = {r.key for r in who.rows.get(t.qualified, [])}
        found: dict[str, Any] = {}

        def judge(o: Outcome) -> bool:
            if o.error is not None:
                return False
            found["leaked"] = [row for row in o.rows if str(row[0]) not in who.tenants]
            missing = seeded - {tuple(row[1:]) for row in o.rows}
            found["note"] = (f": {len(found['leaked'])} of a tenant {who.label} is not a member of, "
                             f"{len(missing)} of {who.label}'s {len(seeded)} seeded rows missing")
            return not found["leaked"] and not missing

        if self._deny_all(t):
            def judge(o: Outcome, inner: Judge = judge) -> bool:
                inner(o)
                return o.error is None and not found["leaked"]
        member_of = f"{len(who.tenants)} tenant(s)" if len(who.tenants) > 1 else "its tenant"
        expected, judge = self._granted(
            t, "SELECT", f"every row of {who.label} and none outside {member_of}", judge)
        case = "read-own" if who is self.a else f"read-own [{who.label}]"
        return self._probe(t, "SELECT", case, who.principal, self._describe(who), self.statements.select(t),
                           expected, judge, leaked=True, extra=found)

    def _aimed_at_b(self, t: Table, command: str) -> Probe:
        stmt = self.statements.touch(t, self.b.tenant) if command == "UPDATE" else self.statements.delete(t, self.b.tenant)
        expected, judge = self._granted(t, command, "0 rows touched",
                                        lambda o: o.error is None and o.rowcount == 0)
        return self._probe(t, command, f"{command.lower()}-other", self.a.principal, self._label(), stmt,
                           expected, judge, shown=[r.values for r in self.b.rows.get(t.qualified, [])])

    def _unfiltered(self, t: Table, command: str) -> Probe:
        """No WHERE at all: judged by the rows of other tenants it touched (none may be)."""
        if command == "UPDATE" and self.statements.touch_column(t) == self.statements.key(t):
            # a constant SET reads no column: only the UPDATE policy applies
            stmt = Statement(sql.SQL("update {} set {} = %s").format(t.ident, sql.Identifier(self.statements.key(t))),
                             (self.a.tenant,))
        elif command == "UPDATE":  # the key may not be updated: rewrite a column that may
            stmt = self.statements.touch(t, None)
        else:
            stmt = self.statements.delete(t, None)
        case = f"{command.lower()}-unfiltered"
        if command not in t.app_privileges:
            expected, judge = self._granted(t, command, "", lambda o: False)
            return self._probe(t, command, case, self.a.principal, self._label(), stmt, expected, judge)
        return self._by_effect(t, command, case, stmt)

    def _by_effect(self, t: Table, command: str, case: str, stmt: Statement) -> Probe:
        """Runs ``stmt`` as A on the owner's connection (``SET LOCAL ROLE``), then, as the owner in
        the same transaction, lists the rows outside A's tenants it deleted or rewrote."""
        conn, key = self.factory.conn, sql.Identifier(self.statements.key(t))
        snapshot = sql.SQL("select ctid::text, {}::text, {} from {} where not ({}::text = any(%s))").format(
            key, self.statements.key_columns(t), t.ident, key)
        tenants = sorted(self.a.tenants)
        text = stmt.text(conn)
        try:
            with conn.transaction(force_rollback=True):
                before = conn.execute(snapshot, (tenants,)).fetchall()
                # the login role, else the acting role: never the owner, whom RLS does not bind
                role = self.app_role or self.catalog.app_role
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                bind(conn, self.binding, self.a.principal)
                outcome = Outcome(conn.execute(stmt.query, stmt.params).rowcount, [], None)
                conn.execute("reset role")
                after = {row[0] for row in conn.execute(snapshot, (tenants,)).fetchall()}
        except psycopg.Error as err:
            outcome, before, after = Outcome(-1, [], err), [], set()
        touched = [row for row in before if row[0] not in after] if outcome.error is None else []
        refused = outcome.error is not None and outcome.refused(t, self.tenancy.refusals)
        passed = (outcome.error is None and not touched) or refused
        observed = outcome.describe()
        if outcome.error is None:
            observed += f", {len(touched)} row(s) of tenants A is not a member of touched"
        elif not refused:
            observed += " (not a refusal: nothing can be said of which rows it would have touched)"
        expected = ("no row outside A's tenants touched (a refusal, 42501 or "
                    f"{', '.join(self.tenancy.refusals) or 'no other SQLSTATE'}, also changes nothing)")
        if self._deny_all(t):
            expected = "nothing (deny by default); " + expected
        rows = tuple(dict(zip([self.statements.key(t), *(t.primary_key or ("ctid",))], row[1:], strict=False))
                     for row in touched[:SHOWN_ROWS])
        return Probe(t.qualified, command, case, self._label(), text, expected, observed, passed, rows)

    def _insert_foreign(self, t: Table) -> Probe:
        values = self.factory.values(t, self._foreign_id(t, self.b.tenant))
        owner = self.factory.root_owner
        if self._is_root(t) and owner is not None:
            # a new root row that names B's principal as its owner
            values[owner.column] = self.factory.owner_value(self.b.principal)
        stmt = self.factory.insert_statement(t, values)
        owned = self._is_root(t) and owner is not None
        return self._probe(t, "INSERT", "insert-owned-by-other" if owned else "insert-other",
                           self.a.principal, self._label(), stmt, self._refusal(t),
                           lambda o: o.refused(t, self.tenancy.refusals), shown=[self.statements.row_of(t, stmt)])

    def _move_to_foreign(self, t: Table) -> Probe:
        other = self._foreign_id(t, self.b.tenant)
        key = sql.Identifier(self.statements.key(t))
        stmt = Statement(sql.SQL("update {} set {} = %s where {} = %s").format(
            t.ident, key, key), (other, self.a.tenant))
        return self._probe(t, "UPDATE", "move-to-other", self.a.principal, self._label(), stmt,
                           self._refusal(t) + ", or 0 rows moved",
                           lambda o: o.refused(t, self.tenancy.refusals) or (
                               o.error is None and o.rowcount == 0))

    def _own_insert(self, t: Table) -> Probe:
        principal, label = self._own_tenant(t)
        expected, judge = self._granted(t, "INSERT", "1 row", lambda o: o.error is None and o.rowcount == 1)
        return self._probe(t, "INSERT", "own-insert", principal, label,
                           self.statements.insert(t, principal.tenant_id), expected, judge)

    def _own_update(self, t: Table) -> Probe:
        seeded = max(len(self.a.rows.get(t.qualified, [])), 1)
        expected, judge = self._granted(t, "UPDATE", f"at least {seeded} row(s)",
                                        lambda o: o.error is None and o.rowcount >= seeded)
        return self._probe(t, "UPDATE", "own-update", self.a.principal, self._label(),
                           self.statements.touch(t, self.a.tenant), expected, judge)

    def _own_delete(self, t: Table) -> Probe:
        setup = None
        if {"INSERT", "SELECT"} <= t.app_privileges and not self._deny_all(t) and \
                self.tenancy.not_written_directly(t.qualified, "INSERT") is None:
            # delete a row A has just inserted: deleting a seeded row could cascade into others
            principal, label = self._own_tenant(t)
            values = self.factory.values(t, principal.tenant_id)
            insert = self.factory.insert_statement(t, values)
            if t.primary_key and all(c in values for c in t.primary_key):
                # the key is known: no RETURNING, which would need the new row to be readable
                # before AFTER triggers run (a root row becomes readable by its membership)
                key = tuple(values[c] for c in t.primary_key)
                return self._probe(t, "DELETE", "own-delete", principal, label,
                                   lambda row: self.statements.delete_one(t, key), *self._granted(
                                       t, "DELETE", "1 row", lambda o: o.error is None and o.rowcount == 1),
                                   setup=insert)
            setup = Statement(insert.query + sql.SQL(" returning {}").format(self.statements.key_columns(t)),
                              insert.params)
        else:
            principal, label = self.a.principal, self._label()
        expected, judge = self._granted(t, "DELETE", "1 row", lambda o: o.error is None and o.rowcount == 1)
        return self._probe(t, "DELETE", "own-delete", principal, label,
                           lambda row: self.statements.delete_one(t, row), expected, judge, setup=setup)

    # -- running -----------------------------------------------------------------------------
    def _granted(self, t: Table, command: str, expected: str, judge: Judge) -> tuple[str, Judge]:
        """The expectation when the app role may run ``command`` on ``t``, else a refusal."""
        if command not in t.app_privileges:
            return f"permission denied ({self.catalog.app_role} has no {command} privilege)", \
                lambda o: o.denied(t)
        if self._deny_all(t) and command != "SELECT":
            return ("nothing (deny by default: RLS is on and no policy applies to "
                    f"{self.catalog.app_role})", lambda o: o.rejected(t) or (
                        o.error is None and o.rowcount <= 0))
        return expected, judge

    def _deny_all(self, t: Table) -> bool:
        """RLS on and no permissive policy for the acting role at all: deny-by-default by design."""
        return t.rls_enabled and not any(p.permissive and p.applies_to_app_role for p in t.policies)

    def _probe(self, t: Table, command: str, case: str, principal: Principal | None, label: str,
               stmt: Statement | Callable[[tuple | None], Statement], expected: str, judge: Judge, *,
               leaked: bool = False, shown: list | None = None, extra: dict | None = None,
               conn: psycopg.Connection | None = None, setup: Statement | None = None) -> Probe:
        """Runs ``setup`` then ``stmt`` (called with setup's first row when it is a callable)
        as ``principal`` (None: nobody), in a transaction that is always rolled back, and judges it."""
        conn = conn or self.conn
        texts, first = [], None
        try:
            with conn.transaction(force_rollback=True):
                if principal is None:
                    bind_anonymous(conn, self.binding, self.anonymous)
                else:
                    bind(conn, self.binding, principal)
                if setup is not None:
                    texts.append(setup.text(conn))
                    cur = conn.execute(setup.query, setup.params)
                    first = tuple(cur.fetchone()) if cur.description else None
                if callable(stmt):
                    stmt = stmt(first)
                texts.append(stmt.text(conn))
                cur = conn.execute(stmt.query, stmt.params)
                outcome = Outcome(cur.rowcount, cur.fetchall() if cur.description else [], None, first)
        except psycopg.Error as err:
            outcome = Outcome(-1, [], err, first)
        passed = bool(judge(outcome))
        observed = outcome.describe()
        if outcome.error is None:
            observed += (extra or {}).get("note", "")
            observed += f" (A counts {first[0]})" if first is not None and len(first) == 1 else ""
        rows: list = []
        if not passed:
            if leaked and outcome.error is None:
                rows = [self.statements.row_dict(t, r) for r in ((extra or {}).get("leaked") or outcome.rows)]
            elif shown:
                rows = list(shown)
        return Probe(t.qualified, command, case, label, "\n".join(texts), expected, observed, passed,
                     tuple(rows[:SHOWN_ROWS]))

    # -- who and what a probe names ----------------------------------------------------------
    def _is_root(self, t: Table) -> bool:
        return self.catalog.is_root(t)

    def _foreign_id(self, t: Table, other: object) -> object:
        """Another tenant's id for ``t``: B's, or a fresh one for the root (B's is taken there)."""
        return self.factory.new_tenant_id() if self._is_root(t) else other

    def _own_tenant(self, t: Table) -> tuple[Principal, str]:
        if self._is_root(t):
            # A's principal creating a new tenant: the root row is the tenant itself
            fresh = self.factory.new_tenant_id()
            own = replace(self.a.principal, tenant_id=fresh, label=f"{self.a.label}'s new tenant")
            self.factory.principals[str(fresh)] = own
            return own, f"a new tenant of A's principal ({self.statements.key(t)}={fresh})"
        return self.a.principal, self._label()

    def _label(self) -> str:
        return self._describe(self.a)

    def _describe(self, who: SeededTenant) -> str:
        text = who.describe(self.col)
        others = sorted(who.tenants - {str(who.tenant)})
        return text + (f", also a member of {', '.join(others)}" if others else "")

    def _refusal(self, t: Table) -> str:
        extra = "".join(f" or {state} ({why})" for state, why in self.tenancy.refusals.items())
        return f"refused: 42501 from {t.qualified}'s own policy or privileges{extra}"
