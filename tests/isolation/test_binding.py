"""binding_problem: when does a policy expression confine rows to the bound tenant? (no database)"""

from __future__ import annotations

import pytest

from harness.isolation import binding_problem

SETTING, COLUMN = "app.workspace_id", "workspace_id"
BOUND = "(workspace_id = (NULLIF(current_setting('app.workspace_id'::text, true), ''::text))::uuid)"


@pytest.mark.parametrize("expression", [
    BOUND,
    "((workspace_id = (current_setting('app.workspace_id'::text))::uuid) AND (status <> 'removed'::text))",
    f"({BOUND} OR (workspace_id = (current_setting('app.workspace_id'::text, true))::uuid))",
    "(\"workspace_id\" = current_setting('app.workspace_id'::text)::uuid)",
])
def test_bound_expressions_pass(expression):
    assert binding_problem(expression, SETTING, COLUMN) is None


@pytest.mark.parametrize(("expression", "says"), [
    (None, "no expression"),
    ("", "no expression"),
    ("true", "does not read the tenant setting"),
    (f"({BOUND} OR true)", "does not read the tenant setting"),
    (f"((role = 'owner'::text) OR {BOUND})", "does not read the tenant setting"),
    ("(owner_id = (current_setting('app.workspace_id'::text))::uuid)", "never compares workspace_id"),
    ("(workspace_id = (current_setting('app.user_id'::text))::uuid)", "does not read the tenant setting"),
    # the column named only inside a string literal does not count
    ("(current_setting('app.workspace_id'::text) = 'workspace_id'::text)", "never compares workspace_id"),
    # nor a column whose name merely contains it
    ("(old_workspace_id = (current_setting('app.workspace_id'::text))::uuid)", "never compares workspace_id"),
])
def test_unbound_expressions_fail(expression, says):
    problem = binding_problem(expression, SETTING, COLUMN)
    assert problem is not None and says in problem


def test_or_inside_parentheses_is_not_a_top_level_branch():
    expression = f"({BOUND} AND ((role = 'a'::text) OR (role = 'b'::text)))"
    assert binding_problem(expression, SETTING, COLUMN) is None
