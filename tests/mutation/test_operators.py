"""The SQL mutation operators (benchmarks/mutation): each plants its mistake where SQL lives and
nowhere else, and every mutant applies cleanly to the text it came from."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "mutation"))

from operators import OPERATORS, mutants_of  # noqa: E402

SOURCE = '''"""A docstring: WHERE a <= b AND c FOR UPDATE SECURITY INVOKER must not be mutated."""

def upgrade():
    # a comment: x <= y AND z
    op.execute("""
        CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql SECURITY INVOKER AS $$
        BEGIN
            -- a SQL comment: p <= q AND r
            UPDATE t SET used = used + 1 WHERE workspace_id = w AND used + 1 <= quota;
            SELECT * INTO c FROM t WHERE workspace_id = w FOR UPDATE;
            INSERT INTO r (workspace_id, k) VALUES (w, k) ON CONFLICT (workspace_id, k) DO NOTHING;
            FOR attempt IN 1..20 LOOP EXIT; END LOOP;
        END $$""")
    op.execute("CREATE POLICY p ON t FOR UPDATE USING (workspace_id = w)")
    op.execute("CREATE TABLE r (workspace_id uuid, k text)")


def downgrade():
    op.execute("select 1 where a <= b")
'''


def by_operator():
    found = {}
    for m in mutants_of("m.py", SOURCE):
        found.setdefault(m.operator, []).append(m)
    return found


def test_each_operator_plants_its_mistake_in_the_sql_only():
    found = by_operator()
    assert {(m.original, m.replacement) for m in found["relational"] if not m.in_downgrade} == {("<=", "<")}
    assert {m.original.strip() for m in found["drop-conjunct"]} == {"AND used + 1 <= quota"}
    assert {m.replacement for m in found["conflict-column"]} == {"workspace_id", "k"}
    assert [m.replacement for m in found["security-definer"]] == ["SECURITY DEFINER"]
    assert [m.original.strip() for m in found["drop-row-lock"]] == ["FOR UPDATE"]  # not the policy's
    assert any(m.original == "20" for m in found["constant"])
    assert len(found["swap-statements"]) == 2
    assert [m.apply(SOURCE).count("CREATE UNLOGGED TABLE r") for m in found["unlogged"]] == [1]
    (step,) = found["drop-down-step"]
    assert step.in_downgrade and 'op.execute("select 1 where a <= b")' not in step.apply(SOURCE)
    compile(step.apply(SOURCE), "m.py", "exec")
    for mutants in found.values():
        for m in mutants:
            mutated = m.apply(SOURCE)
            assert mutated != SOURCE
            assert mutated.splitlines()[0] == SOURCE.splitlines()[0], "the docstring was mutated"


def test_mutants_in_downgrade_are_marked():
    downgrade = [m.line for m in by_operator()["relational"] if m.in_downgrade]
    assert downgrade == [SOURCE.splitlines().index('    op.execute("select 1 where a <= b")') + 1]


@pytest.mark.parametrize("path", ["reference_impl/migrations/versions/0004_entitlements.py",
                                  "reference_impl/events/automation.py"])
def test_the_reference_sources_yield_mutants_of_every_kind_that_apply(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    mutants = mutants_of(path, text)
    assert mutants and len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        assert m.apply(text) != text
    if path.endswith("0004_entitlements.py"):
        assert {m.operator for m in mutants} == set(OPERATORS) - {"split-transaction"}


def test_no_sql_operator_edits_inside_a_sql_literal():
    """A RAISE message's "and" is no conjunct; a conjunct comparing with a literal takes the
    literal along (`AND role = 'owner'`, never a dangling `'owner'`)."""
    text = (ROOT / "reference_impl/migrations/versions/0002_memberships.py").read_text(encoding="utf-8")
    dropped = {m.original.strip() for m in mutants_of("m.py", text, ("drop-conjunct",))}
    assert "AND role = 'owner'" in dropped and "AND status = 'active'" in dropped
    text = (ROOT / "reference_impl/migrations/versions/0006_work_items.py").read_text(encoding="utf-8")
    assert not any("cannot change" in m.original or "creation time" in m.original
                   for m in mutants_of("m.py", text, ("drop-conjunct",)))


def test_a_split_transaction_commits_half_way_and_still_compiles():
    path = "reference_impl/entitlements/operations.py"
    text = (ROOT / path).read_text(encoding="utf-8")
    (split,) = [m for m in mutants_of(path, text, ("split-transaction",)) if "grant" in
                text[text.rfind("def ", 0, m.start):m.start].split("(")[0]]
    mutated = split.apply(text)
    compile(mutated, path, "exec")
    grant = mutated[mutated.index("def grant_entitlement"):mutated.index("@contextmanager")]
    assert grant.count("in_workspace(workspace)") == 2     # two transactions, each bound
    assert grant.index("insert into entitlements") < grant.rindex("in_workspace(workspace)") \
        < grant.index("insert into usage_counters")
