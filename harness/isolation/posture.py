"""Policy coverage and posture: is every tenant table protected the way RLS needs?

Two static checks over a :class:`~harness.isolation.catalog.Catalog`:

- **coverage**: every table in the application schemas is either a tenant table (it has the
  tenant column) or on the target spec's ``tenancy.global_tables`` allowlist, with a reason.
  A table that is neither fails: it is exactly the table added next sprint without thinking
  about tenants.
- **posture** of each tenant table: RLS enabled *and* forced; the tenant column NOT NULL; an
  index leading with it; and for each of SELECT / INSERT / UPDATE / DELETE that the app role may
  run, at least one permissive policy, where *every* permissive policy that applies to the app
  role binds to the tenant setting. Permissive policies are OR-ed together, so one
  ``USING (true)`` next to a good policy still opens the table. A command the app role has no
  privilege for needs no policy: the privilege system refuses it first (``audit_log`` is
  append-only that way). Restrictive policies can only narrow access and are not judged.

"Binds to the tenant setting" is read from the expression PostgreSQL stores: each top-level
``OR`` branch must call ``current_setting('<tenant_setting>'`` and name the tenant column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.isolation.catalog import COMMANDS, Catalog, Policy, Table
from harness.isolation.failures import Finding
from harness.target import TargetSpec

__all__ = ["Coverage", "binding_problem", "coverage", "coverage_findings", "posture_findings"]


@dataclass(frozen=True)
class Coverage:
    tenant_tables: tuple[str, ...]
    global_tables: tuple[str, ...]       # allowlisted on purpose, with the reason
    uncovered: tuple[str, ...]           # neither: each one is a finding
    stale_allowlist: tuple[str, ...]     # allowlisted names that no longer exist (reported, harmless)
    extension_tables: tuple[str, ...]    # owned by an extension, not judged

    def summary(self, proven: int) -> str:
        return f"tenant tables proven {proven} / {len(self.tenant_tables)}"


def coverage(catalog: Catalog, spec: TargetSpec) -> Coverage:
    allow = spec.tenancy.global_tables
    tenant, glob, uncovered, ext = [], [], [], []
    for table in catalog.tables:
        if table.from_extension:
            ext.append(table.qualified)
        elif catalog.is_tenant(table):
            tenant.append(table.qualified)
        elif table.name in allow or table.qualified in allow:
            glob.append(table.qualified)
        else:
            uncovered.append(table.qualified)
    known = {t.name for t in catalog.tables} | {t.qualified for t in catalog.tables}
    stale = tuple(sorted(name for name in allow if name not in known))
    return Coverage(tuple(tenant), tuple(glob), tuple(uncovered), stale, tuple(ext))


def coverage_findings(cov: Coverage, spec: TargetSpec) -> list[Finding]:
    column = spec.tenancy.column
    return [Finding(
        subject=name, check="coverage",
        problem=f"has no {column} column and is not on tenancy.global_tables: nothing says whose "
                "rows these are, and no tenant check covers it",
        fix=f"add {column} (NOT NULL, RLS forced, policies per command), or list it under "
            f"tenancy.global_tables in {spec.path.name} with the reason it is global")
        for name in cov.uncovered]


def posture_findings(table: Table, catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    """Every posture problem of one tenant table (empty when it is sound)."""
    found: list[Finding] = []
    name, column = table.qualified, catalog.tenant_column

    def add(check: str, problem: str, fix: str, detail: str = "") -> None:
        found.append(Finding(name, check, problem, fix, detail))

    if not table.rls_enabled:
        add("rls-enabled", "row-level security is not enabled: every policy is ignored",
            f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
    if not table.rls_forced:
        add("rls-forced", "row-level security is not FORCED: the table owner (and any code "
            "running as it, e.g. a SECURITY DEFINER function) skips every policy",
            f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
    col = table.column(column)
    if col is not None and not col.not_null:
        add("tenant-not-null", f"{column} is nullable: a row with NULL belongs to no tenant and "
            "no tenant policy can ever match it", f"ALTER TABLE {name} ALTER {column} SET NOT NULL")
    if column not in table.index_leading_columns:
        add("tenant-index", f"no index leads with {column}: every tenant-bound query scans the "
            "whole table", f"CREATE INDEX ON {name} ({column}, ...)")
    for command in COMMANDS:
        found.extend(_command_findings(table, command, catalog, spec))
    return found


def _command_findings(table: Table, command: str, catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    name = table.qualified
    if command not in table.app_privileges:
        return []   # the privilege system refuses it before RLS is consulted
    applicable = [p for p in table.policies
                  if p.permissive and p.applies_to_app_role and p.command in (command, "ALL")]
    if not applicable:
        return [Finding(name, f"policy:{command}",
                        f"the app role {catalog.app_role} may {command} but no permissive policy "
                        f"covers {command}: the command is either silently denied or, once "
                        "someone adds a broad policy, open",
                        f"CREATE POLICY ... ON {name} FOR {command} "
                        + _clause_hint(command, spec) + f", or REVOKE {command} from {catalog.app_role}")]
    found = []
    for policy in applicable:
        for clause, expression in _clauses(policy, command):
            problem = binding_problem(expression, spec.tenant_setting, catalog.tenant_column)
            if problem:
                found.append(Finding(
                    name, f"policy:{command}",
                    f"permissive policy {policy.name} ({policy.command}, roles "
                    f"{', '.join(policy.roles)}) {clause} {problem}; permissive policies are "
                    "OR-ed, so it opens the table whatever the other policies say",
                    f"bind it: {clause} ({catalog.tenant_column} = current_setting("
                    f"'{spec.tenant_setting}', true)::...), or make it AS RESTRICTIVE, or drop it",
                    detail=f"{clause} ({expression})" if expression else f"{clause}: none"))
    return found


def _clauses(policy: Policy, command: str) -> list[tuple[str, str | None]]:
    """The expressions that decide ``command`` under ``policy`` (PostgreSQL's own fallbacks)."""
    if command in ("SELECT", "DELETE"):
        return [("USING", policy.using)]
    if command == "INSERT":
        # an ALL policy without WITH CHECK checks new rows with its USING expression
        return [("WITH CHECK", policy.with_check if policy.with_check is not None else
                 (policy.using if policy.command == "ALL" else None))]
    return [("USING", policy.using),
            ("WITH CHECK", policy.with_check if policy.with_check is not None else policy.using)]


def _clause_hint(command: str, spec: TargetSpec) -> str:
    bound = f"({spec.tenancy.column} = current_setting('{spec.tenant_setting}', true)::...)"
    if command == "INSERT":
        return f"WITH CHECK {bound}"
    if command == "UPDATE":
        return f"USING {bound} WITH CHECK {bound}"
    return f"USING {bound}"


def binding_problem(expression: str | None, setting: str, column: str) -> str | None:
    """Why ``expression`` does not confine rows to the bound tenant, or None when it does."""
    if expression is None or not expression.strip():
        return "has no expression, which admits every row"
    needle = f"current_setting('{setting.lower()}'"
    for branch in _top_level_or_branches(expression):
        bare = _strip_literals(branch)
        if needle not in branch.lower().replace(" ", ""):
            return (f"has a branch that does not read the tenant setting {setting}: "
                    f"{branch.strip()!r}")
        if not re.search(rf'(?<![\w."]){re.escape(column)}(?![\w"])|"{re.escape(column)}"', bare):
            return f"has a branch that never compares {column}: {branch.strip()!r}"
    return None


def _top_level_or_branches(expression: str) -> list[str]:
    """Splits on OR outside parentheses and string literals, after unwrapping outer parentheses."""
    text = expression.strip()
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    branches, depth, start, i, quoted = [], 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif (not quoted and depth == 0 and text[i:i + 4].upper() == " OR "):
            branches.append(text[start:i])
            start = i + 4
            i += 3
        i += 1
    branches.append(text[start:])
    return branches


def _closing(text: str, open_at: int) -> int:
    depth, quoted = 0, False
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _strip_literals(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", text)
