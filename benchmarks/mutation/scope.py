"""What each family's mutants are made of, and which mutants cannot change what it observes.

:data:`SOURCES` names, per family of the registry (``harness.families``), the files whose SQL
carries what that family judges: the migration that creates its tables, functions and policies,
and the adapter modules on its data path. The gates a family's run asks for come from the
registry (the gates of its items), its environment from the family's ``bite_env``.

An equivalent mutant is one that cannot change what the family observes. It is not run and not
counted, and it always carries its own reason: either a rule below that a reviewer can check
against the mutant's edit (:func:`equivalence`), or a written explanation for that one mutant in
:data:`EXPLAINED` (keyed by mutant id; an id no longer generated is reported as stale).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from operators import Mutant, _live_spans

__all__ = ["EXPLAINED", "MIGRATIONS", "SOURCES", "SURVIVOR_NOTES", "equivalence"]

MIGRATIONS = "reference_impl/migrations/versions"
_ALL_MIGRATIONS = tuple(f"{MIGRATIONS}/{name}" for name in (
    "0001_workspaces_users.py", "0002_memberships.py", "0003_audit_log.py", "0004_entitlements.py",
    "0005_identity_analytics.py", "0006_work_items.py", "0007_ai_data.py", "0008_events.py"))

SOURCES: dict[str, tuple[str, ...]] = {
    # the policies (rls.py), memberships and their audit; the work items' lifecycle is the api's
    "tenant_isolation": (f"{MIGRATIONS}/0002_memberships.py", f"{MIGRATIONS}/0003_audit_log.py",
                         "reference_impl/rls.py"),
    "counters": (f"{MIGRATIONS}/0004_entitlements.py", "reference_impl/entitlements/operations.py"),
    "standards": (f"{MIGRATIONS}/0005_identity_analytics.py", "reference_impl/analytics/operations.py"),
    "ai": (f"{MIGRATIONS}/0007_ai_data.py", "reference_impl/ai/agent_runs.py",
           "reference_impl/ai/ingestion.py", "reference_impl/ai/retrieval.py"),
    "replay": (f"{MIGRATIONS}/0008_events.py", "reference_impl/events/automation.py",
               "reference_impl/events/consumer.py", "reference_impl/events/credentials.py",
               "reference_impl/events/webhooks.py"),
    "api": (f"{MIGRATIONS}/0006_work_items.py", "reference_impl/work_items/queries.py",
            "reference_impl/work_items/operations.py", "reference_impl/api/session.py"),
    "load": ("reference_impl/work_items/queries.py", f"{MIGRATIONS}/0006_work_items.py"),
    # the rehearsal judges the chain itself, downgrades included
    "migrations": _ALL_MIGRATIONS,
    # every table a restore and a crash must bring back (what the tables' SQL decides is the
    # behaviour families': see WHOLE_SCHEMA)
    "recovery": _ALL_MIGRATIONS,
}

# one mutant, one reason: written after reading the mutant and the family's checks
EXPLAINED: dict[str, str] = {
    "constant-8f96317f": (
        "retrieve_chunks' DEFAULT for p_k: its one caller (reference_impl/ai/retrieval.py) passes "
        "all six arguments, k included, so the default is never read"),
    "split-transaction-355beddb": (
        "track_event's SELECT of the existing event runs only when the INSERT found the key taken "
        "by a committed row; under READ COMMITTED each statement reads a new snapshot, so a new "
        "transaction bound to the same workspace reads that same row (the capability never "
        "updates or deletes an event): the answer cannot differ"),
    "relational-6456c9b6": (
        "a token's `expires_at > now()` made `>=`: the two differ only when the expiry equals the "
        "request transaction's start to the microsecond; expiries are written by earlier "
        "transactions (issue: now() + a lifetime), so no request can be placed on that instant"),
    # the reference API's start-up refusal of a bad pool size: the tool reads the f-string of the
    # error message as SQL, and an edit there changes only the words a misconfigured start prints
    "relational-2035d97a": (
        "in the text of the reference API's error message for a bad pool-size setting "
        "(reference_impl/api/session.py), not in SQL or a comparison the code makes: only the "
        "words printed at a refused start change"),
    "constant-7a1f344c": (
        "in the text of the reference API's error message for a bad pool-size setting "
        "(reference_impl/api/session.py), not in SQL or a comparison the code makes: only the "
        "words printed at a refused start change"),
    "relational-e3b6cfb3": (
        "in the text of the reference API's error message for a bad pool-size setting "
        "(reference_impl/api/session.py), not in SQL or a comparison the code makes: only the "
        "words printed at a refused start change"),
    "relational-b3e99221": (
        "in the text of the reference API's error message for a bad pool-size setting "
        "(reference_impl/api/session.py), not in SQL or a comparison the code makes: only the "
        "words printed at a refused start change"),
    "constant-4a158765": (
        "list_query_plans' `limit 1` made `limit 2`: the adapter's observation helper for the "
        "plan check, not a data path; fetchone() takes the first row of the same ORDER BY "
        "created_at either way, and that row only supplies a cursor for the EXPLAINs"),
    # 0007's downgrade drops the vector extension only when no column of type vector is left
    "drop-conjunct-3d8bb142": (
        "0007's downgrade looks for columns of type vector: attnum <= 0 are system columns (ctid, "
        "xmin, ...), whose types are PostgreSQL's own, never the extension's, so without "
        "`attnum > 0` the same rows are found"),
    "relational-5ee714be": (
        "0007's downgrade looks for columns of type vector: no attribute has number 0, so "
        "`attnum >= 0` finds what `attnum > 0` finds"),
    "drop-conjunct-619dff72": (
        "0007's downgrade looks for columns of type vector: PostgreSQL sets a dropped column's "
        "atttypid to 0, so it never joins pg_type's vector and `NOT attisdropped` excludes "
        "nothing the join keeps"),
}

_DEFINER = ("not equivalent, outside S10's claims: every call through the entitlements capability "
            "binds the workspace it names and the function filters by that workspace itself, so "
            "running as its owner (no RLS) touches the same rows; only a call bound to one "
            "workspace naming another tells. Caught by another family: tenant_isolation's "
            "S03.policy-coverage (test_nothing_bypasses_row_level_security) fails every SECURITY "
            "DEFINER function not on tenancy.security_definer_allowlist; run "
            "`--family tenant_isolation --mutant <id>`")
_NOT_LOAD = ("not equivalent, and not the load family's to see: it judges what requests cost "
             "(latency, statements and rows per list request, the page's plan, connections held), "
             "and this mutant changes what one request answers, not what it costs; ")
# the load family's survivors of `run.py --family load --sample 6` (seed 20261204), read
_LOAD_SURVIVORS: dict[str, str] = {
    "conflict-column-3922105a": _NOT_LOAD + (
        "api_tokens keyed by workspace_id alone allows one token per workspace, and every load "
        "tenant is issued exactly one; a second token is the api family's (token issuance)"),
    "drop-conjunct-6a20827c": _NOT_LOAD + (
        "the timeline's not-found check without its work_item_id answers [] instead of 404 for "
        "an unknown item of a workspace with activity; the load traffic never reads a timeline"),
    "relational-6456c9b6": _NOT_LOAD + (
        "a token accepted at the exact instant it expires; load tokens live an hour past the run"),
    "constant-043169e7": _NOT_LOAD + (
        "work_items.priority DEFAULT 2 made 1: every create the load sends names its priority "
        "(loadtests/locustfile.py), so the default is never taken; an API create without one is "
        "the api family's"),
}
# survivors read and understood, but not equivalent: why no check of the family sees them yet
SURVIVOR_NOTES: dict[str, str] = {
    **_LOAD_SURVIVORS,
    "security-definer-b8821c3e": _DEFINER,
    "security-definer-a0746a21": _DEFINER,
    "security-definer-5b3b0dd2": _DEFINER,
    "drop-row-lock-3ce597ab": (
        "a denial no longer holds the open period until commit: a denial racing a rollover or a "
        "plan change can commit after it, judged on the terms it read before it. The calls "
        "overlap, so every answer and every stored counter still has a serial order that "
        "respects real time; the only trace is the denial's record (which counts nothing) "
        "committing in a period already closed, seen only by a reader racing both. Outside "
        "S10's claims (no lost or double-counted usage, no grant above the limit)"),
    "drop-conjunct-924cc6cf": (
        "the audit guard's `AND NOT EXISTS (...)` dropped leaves `IF TG_OP = 'DELETE' THEN RETURN "
        "NULL`: no membership DELETE is audited. The product never deletes a membership row (a "
        "removal is status 'removed', an audited UPDATE; the membership capability has no "
        "delete), and the one DELETE that happens, a workspace's cascade, must not be audited: "
        "only a direct DELETE by the app role shows it, which S03.membership-audit does not "
        "claim. (The guard dropped whole blocks a workspace's deletion: variant "
        "audit-blocks-tenant-deletion, caught by the root's unfiltered DELETE)"),
    "constant-6411a0f0": (
        "0007's downgrade would miss a vector column in a table's first position (attnum > 1) "
        "and try to drop the extension under it (DROP EXTENSION without CASCADE then fails): no "
        "table of the chain has one, so the rehearsal's chain cannot show it"),
    "relational-9756edb9": (
        "users.email's CHECK (position('@' in email) > 1) made >= 1 (an address starting with "
        "'@' accepted): an edit of upgrade() SQL is on both sides of a round trip and a restore, "
        "and no behaviour family claims 0001 (no suite writes a malformed email)"),
    "relational-1d4bc3ef": (
        "audit_log's CHECK (length(correlation_id) > 0) made >= 0: the audit trigger never writes "
        "an empty id (nullif(..., '') falls back to a fresh uuid), so only a direct INSERT by the "
        "app role with '' reaches the boundary; S03.membership-audit judges the rows membership "
        "changes write, and the matrix's own INSERT writes a valid row"),
    "relational-5c9312a5": (
        "analytics_events' CHECK (taxonomy_version > 0) widened to >= 0: the capability always "
        "writes the taxonomy's own version, so only a direct INSERT by the app role reaches the "
        "boundary, and S10.analytics-event-integrity judges events through the capability"),
    "split-transaction-26fae1c3": (
        "grant_entitlement's two INSERTs (the entitlement, then its first period) in two "
        "transactions: outside S10's claims, which judge operations on an entitlement already "
        "granted (the grant is the suite's setup). Only a plan change racing the grant itself "
        "tells: it finds the entitlement without a period, commits its new terms and reports no "
        "period"),
}


# families that judge the schema and its data as a whole: the chain applies and each downgrade
# undoes its upgrade (migrations); a copy comes back and survives a crash (recovery). An edit of
# an upgrade's SQL is on both sides of a round trip and of a restore alike, so what it decides
# (a function, a policy, a key, a CHECK, a default) is judged by the family whose SOURCES list
# the file, which migrates the same mutated chain (a chain that no longer applies fails there
# too). What stays theirs: downgrades (migrations), persistence (recovery: the `unlogged`
# operator), and files no behaviour family claims.
WHOLE_SCHEMA = ("migrations", "recovery")
# only a crash or a restore tells an UNLOGGED table from a logged one (standards lists one as
# advice, attached to S00.index-baseline, never a verdict)
_PERSISTENCE = ("recovery",)


def scoped_elsewhere(mutant: Mutant, family: str) -> str | None:
    """Why another family, not ``family``, judges ``mutant`` (or None)."""
    if mutant.operator == "unlogged":
        return None if family in _PERSISTENCE else (
            "an UNLOGGED table answers every query as a logged one until the server crashes or "
            "is restored: only the recovery family's rehearsals tell (standards advises, never fails)")
    if family not in WHOLE_SCHEMA or mutant.in_downgrade:
        return None
    owners = [f for f, paths in SOURCES.items() if f not in WHOLE_SCHEMA and mutant.path in paths]
    if not owners:
        return None
    return (f"scoped to {' and '.join(owners)}: an edit of upgrade() SQL is the same on both sides "
            f"of a {'round trip' if family == 'migrations' else 'restore'}; what it decides is "
            f"judged by the family whose sources list {Path(mutant.path).name}")


def equivalence(root: Path, mutant: Mutant, family: str) -> str | None:
    """Why ``mutant`` cannot change what ``family``'s gate observes, or None."""
    if mutant.id in EXPLAINED:
        return EXPLAINED[mutant.id]
    stillborn = _refused_unlogged(root, mutant)
    if stillborn is not None:
        return stillborn
    scoped = scoped_elsewhere(mutant, family)
    if scoped is not None:
        return scoped
    if mutant.in_downgrade and family != "migrations":
        return "in downgrade(): only the migrations family's rehearsal runs a downgrade"
    helper = _enclosing_function(root, mutant)
    if family != "migrations" and helper is not None and _called_only_in_downgrades(root, helper):
        return (f"in {helper}(), which only downgrade() functions call: only the migrations "
                "family's rehearsal runs a downgrade")
    statements = [s.strip() for s in mutant.original.replace("\n", " ").split(";") if s.strip()]
    if mutant.operator == "swap-statements" and all(_is_declaration(s) for s in statements) \
            and not _reads_the_other(statements):
        return ("two DECLARE entries swapped, neither's initial value reading the other: "
                "declaration order has no effect")
    if mutant.operator == "swap-statements" and _independent_assignments(statements):
        return "two assignments to different variables, neither reading the other: order-free"
    if mutant.operator == "split-transaction" and _reads_only(root, mutant):
        return ("a block that only reads (SELECT / EXPLAIN: no write, no row lock, no setting, "
                "no isolation level) split in two: under READ COMMITTED every statement already "
                "reads its own snapshot, so two transactions bound alike read what one did")
    if mutant.operator in ("constant", "relational") and family not in _WRITE_ANY_COLUMN:
        column = _check_on_default_only(root, mutant, family)
        if column:
            return (f"inside CHECK on {column}, which nothing in the reference or the family's "
                    "suite writes (never in an INSERT column list, never assigned): every row holds "
                    "the column DEFAULT, which passes the CHECK before and after the edit")
    if mutant.operator == "constant" and family not in _WRITE_ANY_COLUMN:
        named = _default_never_read(root, mutant, family)
        if named:
            return (f"the column DEFAULT of {named}: every INSERT into its table in the reference "
                    "and the family's suite names the column, so the default is never read")
    if mutant.operator == "conflict-column" and family not in ("standards", "migrations") \
            and _generated_unique(root, mutant):
        # behaviour only: the schema standards and the rehearsal's model diff may still object
        return ("the column left in the PRIMARY KEY is generated unique (identity or "
                "gen_random_uuid()) and no foreign key needs the pair: every duplicate is still "
                "refused")
    return None


def _refused_unlogged(root: Path, mutant: Mutant) -> str | None:
    """An UNLOGGED table another table's foreign key references: PostgreSQL refuses the chain
    ("constraints on permanent tables may reference only permanent tables"), so no family could
    judge it and nobody could ship it: not counted as a kill."""
    if mutant.operator != "unlogged":
        return None
    name = re.match(r"\s+TABLE\s+(\w+)", (root / mutant.path).read_text(encoding="utf-8")[mutant.end:],
                    re.IGNORECASE)
    if name is None:
        return None                # a name built in Python (a loop over tables): run it
    migrations = "".join(f.read_text(encoding="utf-8") for f in (root / MIGRATIONS).glob("*.py"))
    referencing = [m.group(1) for m in re.finditer(
        r"CREATE TABLE\s+(\w+)\s*\((?:(?!CREATE TABLE).)*?REFERENCES\s+" + name.group(1) + r"\s*\(",
        migrations, re.IGNORECASE | re.DOTALL) if m.group(1) != name.group(1)]
    if not referencing:
        return None
    return (f"stillborn: {name.group(1)} is referenced by {', '.join(sorted(set(referencing)))}, and "
            "PostgreSQL refuses a permanent table's foreign key to an UNLOGGED one: the chain "
            "cannot apply, so no family could judge it and nobody could ship it")


def _enclosing_function(root: Path, mutant: Mutant) -> str | None:
    text = (root / mutant.path).read_text(encoding="utf-8")
    found = list(re.finditer(r"^def (\w+)\(", text[:mutant.start], re.MULTILINE))
    return found[-1].group(1) if found else None


def _called_only_in_downgrades(root: Path, helper: str) -> bool:
    """``helper`` is called somewhere, and every call in a migration sits in its downgrade()."""
    calls = 0
    for file in sorted((root / MIGRATIONS).glob("*.py")):
        text = file.read_text(encoding="utf-8")
        downgrade = re.search(r"^def downgrade\(", text, re.MULTILINE)
        for call in re.finditer(rf"^\s+{helper}\(", text, re.MULTILINE):
            if downgrade is None or call.start() < downgrade.start():
                return False
            calls += 1
    return calls > 0


# families whose suites write rows of their own into every table (the isolation matrix, the
# standards' seeds, the rehearsal's data): a CHECK there is judged on values the code never writes
_WRITE_ANY_COLUMN = ("tenant_isolation", "standards", "migrations")
_DEFAULT_CHECK = re.compile(r"^\s*(\w+)\s+\w+[^\n]*?DEFAULT\s+(-?\d+)\s+CHECK\s*\(\s*(\w+)\s*"
                            r"(>=|<=|>|<|=)\s*(-?\d+)\s*\)", re.MULTILINE)
_COMPARE = {">=": int.__ge__, "<=": int.__le__, ">": int.__gt__, "<": int.__lt__, "=": int.__eq__}


def _sources_that_write(root: Path, family: str) -> Iterator[str]:
    """The text of every Python file that could write the family's tables: the reference's
    (its known-bad variants aside), the family's harness package and its suite."""
    for place in (root / "reference_impl", root / "harness" / family, root / "scenarios" / family):
        for file in sorted(place.rglob("*.py")):
            if "variants" not in file.relative_to(root).parts:
                yield file.read_text(encoding="utf-8")


def _check_on_default_only(root: Path, mutant: Mutant, family: str) -> str | None:
    """The column, when the mutant edits ``CHECK (<column> <op> <n>)`` of a column declared
    ``... DEFAULT <d> CHECK (...)`` on one line, ``<d>`` passes the mutated CHECK, and no source
    of the reference (variants aside) or of the family's harness and suite assigns the column or
    names it in an INSERT column list."""
    text = (root / mutant.path).read_text(encoding="utf-8")
    line_start = text.rfind("\n", 0, mutant.start) + 1
    line_end = text.find("\n", mutant.end)
    before = _DEFAULT_CHECK.match(text[line_start:line_end])
    if before is None or before.group(1) != before.group(3) or \
            mutant.start < line_start + text[line_start:line_end].find("CHECK"):
        return None
    edited = mutant.apply(text)
    after = _DEFAULT_CHECK.match(edited[line_start:line_end + len(edited) - len(text)])
    if after is None or not _COMPARE[after.group(4)](int(after.group(2)), int(after.group(5))):
        return None
    column = before.group(1)
    # in SQL (the file's string literals): SET col = / NEW.col := / an INSERT column list naming
    # it; in Python: a keyword argument col=... (an ORM or a helper passing it on)
    sql_writes = re.compile(rf"\b{column}\s*(=(?!=)|:=)|insert\s+into\s+\w+\s*\([^)]*\b{column}\b",
                            re.IGNORECASE)
    keyword = re.compile(rf"[(,]\s*{column}=(?!=)")
    for source in _sources_that_write(root, family):
        if keyword.search(source) or any(sql_writes.search(source, a, b) for a, b in _live_spans(source)):
            return None
    return column


def _default_never_read(root: Path, mutant: Mutant, family: str) -> str | None:
    """``table.column`` when the mutant changes the number after ``<column> <type> ... DEFAULT``
    inside ``CREATE TABLE <table>``, and every INSERT into that table (SQL in the string literals
    of the reference, variants aside, and of the family's harness and suite) lists the column;
    None when one does not, or when no INSERT is found (the table may be filled another way)."""
    text = (root / mutant.path).read_text(encoding="utf-8")
    line_start = text.rfind("\n", 0, mutant.start) + 1
    declared = re.match(r"\s*(\w+)\s+\w+[^\n]*?\bDEFAULT\s+$", text[line_start:mutant.start], re.IGNORECASE)
    table = re.findall(r"CREATE TABLE\s+(\w+)\s*\(", text[:mutant.start], re.IGNORECASE)
    if declared is None or not table:
        return None
    column, table = declared.group(1), table[-1]
    inserts = 0
    # an INSERT without a column list (DEFAULT VALUES, a bare VALUES or SELECT) counts as not naming it
    into = re.compile(rf"insert\s+into\s+{table}\b(?:\s*\(([^)]*)\))?", re.IGNORECASE)
    for source in _sources_that_write(root, family):
        for a, b in _live_spans(source):
            for found in into.finditer(source, a, b):
                inserts += 1
                if found.group(1) is None or not re.search(rf"\b{column}\b", found.group(1)):
                    return None
    return f"{table}.{column}" if inserts else None


_WRITES = re.compile(r"\b(insert|update|delete|merge|truncate|copy|lock|nextval|setval|set_config|"
                     r"analyze|vacuum|call|perform|notify|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share|"
                     r"isolation_level|commit|rollback|savepoint)\b", re.IGNORECASE)


def _reads_only(root: Path, mutant: Mutant) -> bool:
    """The split block, and everything after it to the end of its function (more text than the
    block: a write anywhere there disqualifies), runs no SQL but SELECT and EXPLAIN, calls no
    other method of the adapter that might write, and sets no isolation level."""
    text = (root / mutant.path).read_text(encoding="utf-8")
    header = mutant.replacement.splitlines()[0]
    start = text.rfind(header.strip(), 0, mutant.start)
    if start < 0:
        return False
    indent = len(header) - len(header.lstrip())
    body = text.find("\n", start) + 1
    after = re.search(rf"^ {{0,{max(indent - 4, 0)}}}\S", text[body:], re.MULTILINE)
    block = text[start:body + after.start() if after else len(text)]
    function = text[text.rfind("def ", 0, start):start]
    if re.search(r"isolation", function, re.IGNORECASE):
        return False           # a level set on the connection before the block: not READ COMMITTED
    # another method of the adapter (self.x(...)) or a helper handed the connection could
    # write: not judged here
    inside = text[body:start + len(block)]
    hands_off = re.search(r"\bself\.\w+\(|\w\(\s*conn\b|,\s*conn\s*[,)]", inside)
    return not _WRITES.search(block) and hands_off is None and re.search(
        r"\b(select|explain)\b", block, re.IGNORECASE) is not None


def _generated_unique(root: Path, mutant: Mutant) -> bool:
    text = (root / mutant.path).read_text(encoding="utf-8")
    if "PRIMARY KEY" not in text[max(0, mutant.start - 20):mutant.start] or "," in mutant.replacement:
        return False
    column = re.escape(mutant.replacement.strip())
    table = text[text.rfind("CREATE TABLE", 0, mutant.start):mutant.start]
    name = re.match(r"CREATE TABLE\s+(\w+)", table)
    migrations = "".join(f.read_text(encoding="utf-8") for f in (root / MIGRATIONS).glob("*.py"))
    if name is None or re.search(rf"REFERENCES\s+{name.group(1)}\s*\(", migrations):
        return False           # a foreign key needs the composite key: not equivalent
    return bool(re.search(rf"\b{column}\b[^,\n]*(GENERATED ALWAYS AS IDENTITY|DEFAULT gen_random_uuid\(\))",
                          table))


def _reads_the_other(statements: list[str]) -> bool:
    names = [s.split()[0] for s in statements]
    return any(re.search(rf"\b{re.escape(other)}\b", s[len(name):])
               for s, name in zip(statements, names, strict=True) for other in names if other != name)


def _independent_assignments(statements: list[str]) -> bool:
    parts = [s.split(":=", 1) for s in statements]
    if len(parts) != 2 or any(len(p) != 2 for p in parts):
        return False
    # the target's name is its first word (a DECLARE entry names its type after it)
    (left_a, right_a), (left_b, right_b) = ((a.split()[0], b) for a, b in parts)
    return left_a != left_b and not re.search(rf"\b{re.escape(left_a)}\b", right_b) \
        and not re.search(rf"\b{re.escape(left_b)}\b", right_a)


def _is_declaration(statement: str) -> bool:
    words = statement.split()
    return len(words) >= 2 and words[0].isidentifier() and words[0].upper() not in (
        "SELECT", "UPDATE", "INSERT", "DELETE", "PERFORM", "RAISE", "IF", "RETURN", "EXIT")
