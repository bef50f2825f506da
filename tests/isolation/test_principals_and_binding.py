"""The binding model: spec validation, principals, and one transaction-local binding helper."""

from __future__ import annotations

import textwrap

import pytest

from harness.errors import ConfigError
from harness.target import BindingSpec, load_target
from harness.tenancy import BindingError, Principal, bound, bound_workspace, render

CLAIMS = '{"sub": "{user_id}", "role": "authenticated"}'


def _spec(tmp_path, body: str):
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "0001_init.sql").write_text("select 1;\n")
    path = tmp_path / "target.yaml"
    path.write_text("name: t\nmigrations: {tool: sql, location: migrations}\n" + textwrap.dedent(body))
    return load_target(path, backend="embedded")


def test_the_default_binding_is_the_tenant_setting_bound_to_the_tenant_id(tmp_path):
    spec = _spec(tmp_path, "tenant_setting: request.jwt.claim.sub\n")
    assert spec.binding == BindingSpec({"request.jwt.claim.sub": "{tenant_id}"})


def test_a_binding_with_a_role_and_jwt_claims_loads(tmp_path):
    spec = _spec(tmp_path, f"""\
        binding:
          role: authenticated
          settings: {{request.jwt.claim.sub: "{{user_id}}", request.jwt.claims: '{CLAIMS}'}}
        """)
    assert spec.binding.role == "authenticated"
    assert spec.binding.placeholders == {"user_id"}
    assert spec.tenant_setting == "request.jwt.claim.sub"  # no setting holds {tenant_id}: the first


@pytest.mark.parametrize(("body", "field"), [
    ("binding: {settings: {notdotted: x}}\n", "binding.settings.notdotted"),
    ("binding: {role: 'Bad Role', settings: {a.b: x}}\n", "binding.role"),
    ("binding: {settings: {}}\n", "binding.settings"),
    ("tenancy: {root: 'a.b.c'}\n", "tenancy.root"),
    ("tenancy: {root_owner: {column: owner_id, value: owner}}\n", "tenancy.root_owner.value"),
    ("membership: {roles: [owner], manages: {owner: [admin]}}\n", "membership.manages.owner"),
    ("suites: [nowhere]\n", "suites[0]"),
])
def test_a_bad_binding_names_the_field(tmp_path, body, field):
    with pytest.raises(ConfigError) as err:
        _spec(tmp_path, body)
    assert err.value.field == field


def test_render_fills_placeholders_and_leaves_json_braces():
    principal = Principal("t-1", {"user_id": "u-1"})
    assert render(CLAIMS, principal) == '{"sub": "u-1", "role": "authenticated"}'
    with pytest.raises(BindingError, match=r"needs \{user_id\}.*create_tenant"):
        render(CLAIMS, Principal("t-1"))


@pytest.mark.slow
def test_bound_sets_the_role_and_settings_for_one_transaction_only(owner_conn, fresh_database):
    spec = fresh_database.spec
    binding = BindingSpec({"request.jwt.claim.sub": "{user_id}", "app.workspace_id": "{tenant_id}"},
                          role=spec.app_role)
    login = owner_conn.execute("select current_user").fetchone()[0]
    with bound(owner_conn, binding, Principal("t-1", {"user_id": "u-1"})):
        assert owner_conn.execute("select current_user, current_setting('request.jwt.claim.sub'), "
                                  "current_setting('app.workspace_id')").fetchone() == (spec.app_role, "u-1", "t-1")
    assert owner_conn.execute("select current_user, current_setting('request.jwt.claim.sub', true), "
                              "current_setting('app.workspace_id', true)").fetchone() == (login, "", "")
    with bound(owner_conn, binding, None):  # nobody: the role, no setting
        assert owner_conn.execute("select current_user, current_setting('app.workspace_id', true)"
                                  ).fetchone() == (spec.app_role, "")


@pytest.mark.slow
def test_bound_workspace_is_the_default_binding(owner_conn):
    with bound_workspace(owner_conn, "app.workspace_id", "w-1", {"app.actor_id": None}):
        assert owner_conn.execute("select current_setting('app.workspace_id'), "
                                  "current_setting('app.actor_id')").fetchone() == ("w-1", "")
