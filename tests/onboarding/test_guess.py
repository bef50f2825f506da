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


def _graphile_shape() -> Schema:
    """Graphile Starter in miniature: policies for PUBLIC call a set-returning helper, which calls
    the session helper reading jwt.claims.session_id; the visitor role holds the grants; the
    private schema is reachable by its owner only; memberships carry an owner flag."""
    tables = (
        _table("users", schema="app_public"),
        _table("organizations", schema="app_public"),
        _table("organization_memberships", "organization_id", "user_id",
               Column("is_owner", "boolean"), schema="app_public",
               fks=[("organization_id", "app_public.organizations"), ("user_id", "app_public.users")]),
        _table("organization_invitations", "organization_id", schema="app_public",
               fks=[("organization_id", "app_public.organizations")]),
        _table("sessions", "user_id", schema="app_private", fks=[("user_id", "app_public.users")]),
    )
    policies = (
        Policy("app_public.organizations", "select_member", ("public",),
               "(id IN (SELECT app_public.current_user_member_organization_ids()))", "SELECT"),
        Policy("app_public.organizations", "update_owner", ("public",), "(true)", "UPDATE"),
    )
    functions = (
        Function("app_public", "current_user_member_organization_ids", True,
                 "select organization_id from app_public.organization_memberships "
                 "where user_id = app_public.current_user_id()"),
        Function("app_public", "current_user_id", True,
                 "select user_id from app_private.sessions where uuid = "
                 "nullif(pg_catalog.current_setting('jwt.claims.session_id', true), '')::uuid"),
        Function("app_public", "delete_organization", True,
                 "begin if not owner then raise exception 'not the owner' using errcode = 'DNIED'; "
                 "end if; delete from app_public.organizations where id = $1; end"),
        Function("app_private", "really_create_user", True, "raise exception 'taken';"),
    )
    visitor = {"graphile_starter_visitor": ("SELECT", "UPDATE", "DELETE")}
    return Schema(tables, policies, functions, ("plpgsql",),
                  schema_users={"app_public": ("graphile_starter_visitor",)},
                  table_grants={"app_public.organizations": visitor,
                                "app_public.organization_memberships": {"graphile_starter_visitor": ("SELECT",)},
                                "app_public.organization_invitations": {"app_user": ("SELECT",)}})


def test_a_session_bound_shape_read_through_helpers_calling_helpers():
    draft = guess(_graphile_shape(), CAPS, users_table=None)
    assert (draft.tenant_column, draft.root) == ("organization_id", "app_public.organizations")
    # the setting is two helpers away from the policy; it names a session, not the tenant
    assert draft.binding_kind == "settings" and draft.settings == {"jwt.claims.session_id": "{session_id}"}
    # policies for PUBLIC: the request role is the one granted on the tenant tables (not the login)
    assert draft.binding_role == "graphile_starter_visitor"
    # the private schema is its owner's alone: neither its tables nor its functions are judged
    assert draft.schemas == ("app_public",)
    assert "app_private.really_create_user" not in draft.definer_functions
    assert draft.global_tables == ("app_public.users",)
    m = draft.membership
    assert (m.table, m.user_column, m.tenant_column) == ("app_public.organization_memberships", "user_id",
                                                         "organization_id")
    assert (m.roles, m.owner_role, m.role_column) == (("owner", "member"), "owner", "is_owner (boolean)")
    assert draft.refusals == {"DNIED": ("app_public.delete_organization",)}
    # DELETE is granted and no policy admits it; UPDATE has its policy
    assert draft.write_paths == {"app_public.organizations": {"DELETE": ("app_public.delete_organization",)}}


def test_the_draft_writes_the_membership_keys_refusals_and_write_paths_as_decisions():
    text = render(guess(_graphile_shape(), CAPS, users_table=None), name="x", tool="sql",
                  location="migrations", source="a test")
    spec = text[:text.index("# harness init draft")]
    for line in ("  table: app_public.organization_memberships", "  user_column: user_id",
                 "  tenant_column: organization_id", "  roles: [owner, member]",
                 "  role: graphile_starter_visitor", '    jwt.claims.session_id: "{session_id}"',
                 '    DNIED: "RAISE EXCEPTION in app_public.delete_organization"',
                 '      DELETE: "TODO: no policy admits it; written by app_public.delete_organization'):
        assert line in spec, line


def test_the_gate_lists_every_todo_of_a_draft_in_one_line(tmp_path, capsys):
    from harness.cli import main

    text = render(guess(_graphile_shape(), CAPS, users_table=None), name="x", tool="sql",
                  location="migrations", source="a test")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_x.sql").write_text("select 1;\n")
    spec = tmp_path / "target.yaml"
    spec.write_text(text)
    todos = [line.split(":")[0].strip() for line in text.splitlines() if ': "TODO' in line]
    assert main(["gate", "S03", "--target", str(spec), "--out", str(tmp_path / "packets")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not (tmp_path / "packets").exists()
    assert f"{len(todos) - 1} more decision(s) still say TODO" in err
    assert all(f".{name}" in err for name in todos)
