"""Policy coverage and posture: is every tenant table protected the way RLS needs?

Two static checks over a :class:`~harness.core.catalog.Catalog`:

- **coverage**: every table in the application schemas is either a tenant table (it has the
  tenant column) or on the target spec's ``tenancy.global_tables`` allowlist, with a reason.
  A table that is neither fails: it is exactly the table added next sprint without thinking
  about tenants.
- **posture** of each tenant table: RLS enabled *and* forced; the tenant column NOT NULL; and
  for each of SELECT / INSERT / UPDATE / DELETE that the app role may run, at least one
  permissive policy, where no permissive policy that applies to the acting role is open.
  FORCE matters only when the owner is reachable: a table owned by a superuser or a BYPASSRLS
  role skips RLS whether forced or not, and an owner no code runs as (no SECURITY DEFINER
  function of it in the application schemas) cannot be reached by a request; there a missing
  FORCE is advice, unless the schema forces RLS on its other tenant tables (then this table
  lost it: a regression). An index leading with the tenant column is a performance matter
  (``S00.index-baseline``): its absence is advice here. Permissive policies are OR-ed together, so one ``USING (true)`` next to a good
  policy still opens the table. A command the app role has no privilege for needs no policy:
  the privilege system refuses it first (``audit_log`` is append-only that way). Restrictive
  policies can only narrow access and are not judged.

**Behaviour is the proof; policy text is advice.** Each top-level ``OR`` branch of a policy
expression (as PostgreSQL stores it) is read:

- it compares the tenant key with a setting the binding sets: bound, nothing to say;
- it is scoped through a helper function, a subquery or a bound setting without comparing the
  tenant key (``has_role_on_account(account_id)``, ``user_id = auth.uid()``): **advice**; the
  cross-tenant probes decide whether it isolates;
- it is ``true``, has no expression, reads only settings the binding never sets, or reads no
  setting and calls no function at all (it admits rows by their content alone): **failure**.

A table with RLS on and no policy at all for the acting role is deny-by-default (reached only
through functions): advice. So is a command granted without a policy on a table whose other
commands have policies: RLS refuses every row of it (closed), and the probes confirm it. Every
advisory note is shown on the packet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.core.catalog import COMMANDS, Catalog, Policy, Table
from harness.core.findings import Finding
from harness.target import TargetSpec

__all__ = ["Coverage", "binding_problem", "coverage", "coverage_findings", "judge_expression",
           "posture_findings"]

# the migration tools' own bookkeeping: global by nature
_BOOKKEEPING = {"alembic_version": "Alembic's bookkeeping",
                "harness_schema_migrations": "the sql migration tool's bookkeeping"}
# calls that are not helpers: they cannot scope a row to a principal on their own
_NOT_HELPERS = {"current_setting", "nullif", "coalesce", "lower", "upper", "btrim", "trim", "and",
                "or", "not", "in", "any", "all", "array", "case", "when", "then", "else", "cast",
                "row", "greatest", "least", "numeric", "varying", "character", "char", "varchar",
                "decimal", "timestamp", "time", "bit", "is", "distinct", "from", "interval", "where",
                "exists", "select"}


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
    for table in catalog.judged_tables:
        if table.from_extension:
            ext.append(table.qualified)
        elif catalog.is_tenant(table):
            tenant.append(table.qualified)
        elif table.name in allow or table.qualified in allow or table.name in _BOOKKEEPING:
            glob.append(table.qualified)
        else:
            uncovered.append(table.qualified)
    known = {t.name for t in catalog.judged_tables} | {t.qualified for t in catalog.judged_tables}
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
    name, column = table.qualified, catalog.tenant_key(table)

    def add(check: str, problem: str, fix: str, detail: str = "") -> None:
        found.append(Finding(name, check, problem, fix, detail))

    if not table.rls_enabled:
        add("rls-enabled", "row-level security is not enabled: every policy is ignored",
            f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
    if not table.rls_forced:
        reach = _owner_reach(table, catalog)
        add("rls-forced", "row-level security is not FORCED: the table owner (and any code "
            f"running as it, e.g. a SECURITY DEFINER function) skips every policy{reach or ''}",
            f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        if reach is not None:
            found[-1] = Finding(name, "rls-forced", found[-1].problem, found[-1].fix, advisory=True)
    col = table.column(column)
    if col is not None and not col.not_null:
        add("tenant-not-null", f"{column} is nullable: a row with NULL belongs to no tenant and "
            "no tenant policy can ever match it", f"ALTER TABLE {name} ALTER {column} SET NOT NULL")
    if column not in table.index_leading_columns:
        found.append(Finding(name, "tenant-index", f"no index leads with {column}: every "
                             "tenant-bound query scans the whole table (a performance matter, "
                             "judged by S00.index-baseline)", f"CREATE INDEX ON {name} ({column}, ...)",
                             advisory=True))
    for command in COMMANDS:
        found.extend(_command_findings(table, command, catalog, spec))
    return found


def _owner_reach(table: Table, catalog: Catalog) -> str | None:
    """Why a missing FORCE cannot matter on ``table`` (None: it can, a failure).

    It can when the design forces RLS on other tenant tables (this one lost it: a regression,
    whoever owns the tables in this test database), or when code runs as an owner that RLS
    applies to (a SECURITY DEFINER function of a non-bypassing owner).
    """
    if any(t.rls_forced for t in catalog.tenant_tables):
        return None
    if table.owner in catalog.bypass_roles:
        return (f" - advice: the owner {table.owner} is a superuser or BYPASSRLS role, which "
                "skips RLS forced or not")
    if not any(f.owner == table.owner and not f.from_extension for f in catalog.security_definer_functions):
        return f" - advice: no SECURITY DEFINER function runs as the owner {table.owner}"
    return None


def _command_findings(table: Table, command: str, catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    name = table.qualified
    if command not in table.app_privileges:
        return []   # the privilege system refuses it before RLS is consulted
    applicable = [p for p in table.policies
                  if p.permissive and p.applies_to_app_role and p.command in (command, "ALL")]
    if not applicable and table.rls_enabled and not any(
            p.permissive and p.applies_to_app_role for p in table.policies):
        return [Finding(name, f"policy:{command}",
                        f"deny-by-default: {catalog.app_role} may {command} but no policy at all "
                        "applies to it, so every row is refused (the probes confirm it)",
                        f"REVOKE {command} ON {name} FROM {catalog.app_role} if nothing should "
                        "ever run it directly", advisory=True)]
    if not applicable:
        return [Finding(name, f"policy:{command}",
                        f"deny-by-default: {catalog.app_role} may {command} but no permissive "
                        f"policy covers {command}, so RLS refuses every row of it (closed; the "
                        "probes confirm it); the grant is an opening waiting for a broad policy",
                        f"CREATE POLICY ... ON {name} FOR {command} "
                        + _clause_hint(command, spec) + f", or REVOKE {command} from {catalog.app_role}",
                        advisory=table.rls_enabled)]
    found = []
    column = catalog.tenant_key(table)
    for policy in applicable:
        for clause, expression in _clauses(policy, command):
            verdict = judge_expression(expression, tuple(spec.binding.settings), column)
            if verdict is None:
                continue
            severity, problem = verdict
            detail = f"{clause} ({expression})" if expression else f"{clause}: none"
            head = f"permissive policy {policy.name} ({policy.command}, roles {', '.join(policy.roles)}) {clause}"
            if severity == "advice":
                found.append(Finding(name, f"policy:{command}", f"{head} {problem}",
                                     "nothing, if the cross-tenant probes pass", detail, advisory=True))
                continue
            found.append(Finding(
                name, f"policy:{command}",
                f"{head} {problem}; permissive policies are OR-ed, so it opens the table "
                "whatever the other policies say",
                f"scope it: {clause} ({column} = current_setting('{spec.tenant_setting}', true)"
                "::...) or a membership helper, or make it AS RESTRICTIVE, or drop it", detail))
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
    bound = bound if "{tenant_id}" in spec.binding.settings.get(spec.tenant_setting, "") else \
        f"(<{spec.tenancy.column} scoped to the bound principal>)"
    if command == "INSERT":
        return f"WITH CHECK {bound}"
    if command == "UPDATE":
        return f"USING {bound} WITH CHECK {bound}"
    return f"USING {bound}"


def binding_problem(expression: str | None, setting: str | tuple[str, ...], column: str) -> str | None:
    """Why ``expression`` opens rows to every principal (a failure), or None (bound, or advice)."""
    settings = (setting,) if isinstance(setting, str) else setting
    verdict = judge_expression(expression, settings, column)
    return verdict[1] if verdict is not None and verdict[0] == "failure" else None


def judge_expression(expression: str | None, settings: tuple[str, ...], column: str
                     ) -> tuple[str, str] | None:
    """``None`` when bound; ``("advice", why)`` when only behaviour can tell; ``("failure", why)``."""
    if expression is None or not expression.strip():
        return "failure", "has no expression, which admits every row"
    worst: tuple[str, str] | None = None
    for branch in _top_level_or_branches(expression):
        verdict = _judge_branch(branch, {s.lower() for s in settings}, column)
        if verdict is not None and (worst is None or (verdict[0] == "failure" and worst[0] == "advice")):
            worst = verdict
    return worst


def _judge_branch(branch: str, settings: set[str], column: str) -> tuple[str, str] | None:
    shown = branch.strip()
    bare = _strip_literals(branch)
    if re.sub(r"[()\s]", "", bare).lower() == "true":
        return "failure", f"has a branch that is always true: {shown!r}"
    read = {name.lower() for name in re.findall(r"current_setting\('([^']*)'", branch, re.IGNORECASE)}
    bound, unbound = read & settings, read - settings
    helpers = sorted({m.group(0).rstrip("( ").strip() for m in re.finditer(
        r"\b(?:[a-z_][a-z0-9_]*\.)?([a-z_][a-z0-9_]*)\s*\(", bare, re.IGNORECASE)
        if m.group(1).lower() not in _NOT_HELPERS} | ({"a subquery"} if re.search(
            r"\bselect\b", bare, re.IGNORECASE) else set()))
    compares = re.search(rf'(?<![\w."]){re.escape(column)}(?![\w"])|"{re.escape(column)}"', bare)
    if bound and compares:
        return None
    if helpers or bound:
        through = ", ".join(helpers) if helpers else f"the setting {', '.join(sorted(bound))}"
        return "advice", (f"is scoped through {through}, not by comparing {column} with a bound "
                          f"setting: the cross-tenant probes judge whether it isolates ({shown!r})")
    if unbound:
        return "failure", (f"has a branch that reads {', '.join(sorted(unbound))}, which the "
                           f"binding never sets, and nothing else scopes it: {shown!r}")
    return "failure", ("has a branch that reads no bound setting and calls no function: it admits "
                       f"rows by their own content, for every principal: {shown!r}")


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
