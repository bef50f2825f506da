"""The spec keys of real multi-tenant products: write paths, refusals, the anonymous caller and
the richer role model, read into typed fields or refused with the file, the field and the fix."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.isolation import role_cases
from harness.target import load_target

BASE = """name: t
database: {backend: embedded}
migrations: {tool: sql, location: migrations}
app_role: app_user
"""


def _spec(tmp_path, extra: str):
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "20240101000000_init.sql").write_text("select 1;\n")
    path = tmp_path / "target.yaml"
    path.write_text(BASE + extra)
    return load_target(path)


def test_the_keys_are_read_into_the_spec(tmp_path):
    spec = _spec(tmp_path, """tenancy:
  column: account_id
  write_paths: {core.account_user: {insert: core.accept_invitation()}}
  refusals: {P0001: RAISE EXCEPTION in triggers}
anonymous: {role: anon, settings: {request.jwt.claims: '{"role": "anon"}'}}
membership:
  roles: [owner, member]
  manages: {owner: [owner, member]}
  invites: [owner]
  may_leave: []
  primary_owner: true
  table: core.account_user
""")
    assert spec.tenancy.not_written_directly("core.account_user", "INSERT") == "core.accept_invitation()"
    assert spec.tenancy.not_written_directly("core.account_user", "DELETE") is None
    assert spec.tenancy.refusals == {"P0001": "RAISE EXCEPTION in triggers"}
    assert spec.anonymous.role == "anon" and spec.anonymous.settings
    model = spec.membership
    assert model.table == "core.account_user" and model.user_column == "user_id"
    assert not model.may_add("member", "member") and model.may_add("owner", "member")
    assert not model.leaves("member")


def test_the_role_model_generates_its_cases():
    """invites, may_leave and primary_owner change what each generated case expects."""
    from harness.target import MembershipSpec

    model = MembershipSpec(roles=("owner", "member"), manages={"owner": ("owner", "member"), "member": ()},
                           invites=("owner",), may_leave=(), primary_owner=True)
    cases = {c.name + (" (2 owners)" if c.second_owner else ""): c.expect for c in role_cases(model, False)}
    assert cases["member leave self"] == "denied"
    assert cases["owner2 change-role owner to member (2 owners)"] == "denied"
    assert cases["owner add new to member"] == "allowed"
    assert "owner leave self" in cases
    assert not any("leave" in name for name in {c.name for c in role_cases(model, False, leave=False)})


@pytest.mark.parametrize(("extra", "field"), [
    ("tenancy: {write_paths: {core.t: {TRUNCATE: x}}}", "tenancy.write_paths.core.t.TRUNCATE"),
    ("tenancy: {write_paths: {core.t: {INSERT: ''}}}", "tenancy.write_paths.core.t.INSERT"),
    ("tenancy: {refusals: {oops: x}}", "tenancy.refusals.oops"),
    ("anonymous: {role: 'not a role'}", "anonymous.role"),
    ("anonymous: {settings: {request.jwt.claim.sub: '{user_id}'}}", "anonymous.settings.request.jwt.claim.sub"),
    ("membership: {roles: [owner], invites: [admin]}", "membership.invites"),
    ("membership: {roles: [owner], table: 'not a table'}", "membership.table"),
    ("membership: {roles: [owner], primary_owner: maybe}", "membership.primary_owner"),
])
def test_a_bad_key_names_the_field(tmp_path, extra, field):
    with pytest.raises(ConfigError) as err:
        _spec(tmp_path, extra + "\n")
    assert err.value.field == field
