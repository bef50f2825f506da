"""binding_problem: when does a policy expression confine rows to the bound tenant? (no database)"""

from __future__ import annotations

import pytest

from harness.isolation import binding_problem, judge_expression

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
    ("true", "always true"),
    (f"({BOUND} OR true)", "always true"),
    (f"((role = 'owner'::text) OR {BOUND})", "reads no bound setting"),
    ("(workspace_id = (current_setting('app.user_id'::text))::uuid)", "which the binding never sets"),
    ("(status = 'public'::text)", "reads no bound setting and calls no function"),
])
def test_unbound_expressions_fail(expression, says):
    problem = binding_problem(expression, SETTING, COLUMN)
    assert problem is not None and says in problem


@pytest.mark.parametrize(("expression", "says"), [
    # scoped through a bound setting, but not by comparing the tenant column: behaviour decides
    ("(owner_id = (current_setting('app.workspace_id'::text))::uuid)", "the setting app.workspace_id"),
    # the column named only inside a string literal does not count
    ("(current_setting('app.workspace_id'::text) = 'workspace_id'::text)", "not by comparing workspace_id"),
    # nor a column whose name merely contains it
    ("(old_workspace_id = (current_setting('app.workspace_id'::text))::uuid)", "not by comparing"),
    # a membership helper (Supabase/Basejump style) and a subquery on memberships
    ("core.has_role_on_account(account_id)", "core.has_role_on_account"),
    ("(workspace_id IN ( SELECT m.workspace_id FROM memberships m WHERE (m.user_id = auth.uid())))",
     "auth.uid"),
])
def test_expressions_scoped_another_way_are_advice_not_failures(expression, says):
    assert binding_problem(expression, SETTING, COLUMN) is None
    severity, why = judge_expression(expression, (SETTING,), COLUMN)
    assert severity == "advice" and says in why


def test_settings_the_binding_sets_count_as_bound():
    claims = ("request.jwt.claim.sub", "request.jwt.claims")
    expression = "(account_id = (current_setting('request.jwt.claim.sub'::text, true))::uuid)"
    assert judge_expression(expression, claims, "account_id") is None
    assert judge_expression("(account_id = (current_setting('app.other'::text))::uuid)", claims,
                            "account_id")[0] == "failure"


def test_or_inside_parentheses_is_not_a_top_level_branch():
    expression = f"({BOUND} AND ((role = 'a'::text) OR (role = 'b'::text)))"
    assert binding_problem(expression, SETTING, COLUMN) is None
