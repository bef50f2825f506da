"""The guesses ``harness init`` makes from catalog facts, on small hand-built catalogs."""

from __future__ import annotations

from harness.onboarding.draft import is_untouched_draft, render
from harness.onboarding.guess import guess
from harness.onboarding.schema import Column, ForeignKey, Function, Policy, Schema, Table

CAPS = ("memberships", "events", "retrieval")


def _table(name, *columns, fks=(), pk=("id",), schema="public"):
    cols = tuple(c if isinstance(c, Column) else Column(c, "uuid") for c in ("id", *columns))
    return Table(schema, name, cols, pk, tuple(ForeignKey(c, r) for c, r in fks), True)


def _setting_shape() -> Schema:
    tables = (
        _table("users"),
        _table("orgs", "owner_id", fks=[("owner_id", "public.users")]),
        _table("projects", "org_id", "created_by", fks=[("org_id", "public.orgs"),
                                                        ("created_by", "public.users")]),
        _table("invoices", "org_id", "created_by", fks=[("org_id", "public.orgs"),
                                                        ("created_by", "public.users")]),
        _table("org_members", "org_id", "user_id",
               Column("member_role", "public.member_role", ("admin", "owner", "viewer")),
               fks=[("org_id", "public.orgs"), ("user_id", "public.users")]),
        _table("plans", "price"),
    )
    policies = (Policy("public.projects", "p", ("app_rw",),
                       "(org_id = (current_setting('app.org_id'::text))::uuid)"),
                Policy("public.invoices", "p", ("app_rw",), "is_member(org_id)"))
    functions = (Function("public", "is_member", True,
                          "select exists (select 1 from org_members where user_id = "
                          "current_setting('app.user_id')::uuid)"),
                 Function("public", "unused", False, "select current_setting('app.other')"))
    return Schema(tables, policies, functions, ("plpgsql", "vector"))


def test_a_setting_bound_shape():
    draft = guess(_setting_shape(), CAPS, users_table=None)
    assert (draft.tenant_column, draft.root) == ("org_id", "public.orgs")   # not created_by -> users
    assert draft.root_owner == "owner_id"
    assert draft.tenant_tables == ("public.invoices", "public.org_members", "public.projects")
    assert draft.binding_kind == "settings" and draft.binding_role == "app_rw"
    # read by a policy, and by the function a policy calls; never by a function no policy calls
    assert draft.settings == {"app.org_id": "{tenant_id}", "app.user_id": "{user_id}"}
    assert (draft.membership_table, draft.roles) == ("public.org_members", ("admin", "owner", "viewer"))
    assert draft.definer_functions == ("public.is_member",)
    assert draft.global_tables == ("public.plans", "public.users")
    assert "memberships" in draft.signs and draft.no_sign == ("events",)   # vector: retrieval
    assert draft.preset is None


def test_the_draft_binds_the_tenant_and_leaves_the_user_setting_commented(tmp_path):
    text = render(guess(_setting_shape(), CAPS, users_table=None), name="x", tool="sql",
                  location="migrations", source="a test")
    assert '    app.org_id: "{tenant_id}"' in text and '    # app.user_id: "{user_id}"' in text
    assert '    vector: "TODO: what is it for' in text and "plpgsql: procedural language" in text
    assert "owner_role: owner" in text and "owner: [admin, owner, viewer]" in text
    path = tmp_path / "target.yaml"
    path.write_text(text)
    assert is_untouched_draft(path)
    path.write_text(text.replace("app_user", "api_user"))
    assert not is_untouched_draft(path)


def test_postgrest_policies_mean_the_supabase_preset():
    shape = _setting_shape()
    policies = (Policy("public.projects", "p", ("authenticated",), "(created_by = auth.uid())"),)
    draft = guess(Schema(shape.tables, policies, (), ()), CAPS, users_table="public.users")
    assert draft.binding_kind == "postgrest" and draft.preset == "supabase"


def test_no_shared_key_says_so_instead_of_guessing():
    draft = guess(Schema((_table("a", "x"), _table("b", "y")), (), (), ()), CAPS, users_table=None)
    assert draft.tenant_column is None and draft.root is None and draft.notes
    assert "TODO_tenant_column" in render(draft, name="x", tool="sql", location="m", source="t")
