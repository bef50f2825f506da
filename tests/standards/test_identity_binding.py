"""S02.identity-tables-rls binds through the spec's binding: a product whose identity policy reads
the JWT claims (PostgREST's request.jwt.claims, as basejump's auth.uid() does) is judged on what
each person really sees, not shown "sees []" because only actor_setting was set. The schema is
ours, written in the test; the database and the policy are real."""

from __future__ import annotations

import uuid
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from harness.standards.identity import identity_findings, seed_identity_world
from harness.target import BindingSpec, IdentityTable

pytestmark = pytest.mark.slow

SCHEMA = """
create table jwt_members (workspace_id uuid, user_id uuid, active boolean not null default true);
create table jwt_users (user_id uuid primary key, email text not null);
alter table jwt_users enable row level security;
alter table jwt_users force row level security;
create policy own_or_co_member on jwt_users for select using (
  user_id::text = nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  or exists (select 1 from jwt_members them join jwt_members me using (workspace_id)
             where them.user_id = jwt_users.user_id and them.active and me.active
               and me.user_id::text = nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
               and workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid));
"""


class JwtProduct:
    """The adapter operations the identity check uses, the product's way (owner writes)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def create_user(self, email: str) -> uuid.UUID:
        return self.conn.execute("insert into jwt_users values (gen_random_uuid(), %s) returning user_id",
                                 (email,)).fetchone()[0]

    def create_workspace(self, name: str, owner: uuid.UUID) -> uuid.UUID:
        workspace = uuid.uuid4()
        self.conn.execute("insert into jwt_members values (%s, %s)", (workspace, owner))
        return workspace

    def add_member(self, workspace, actor, user, role, key) -> None:
        self.conn.execute("insert into jwt_members values (%s, %s)", (workspace, user))

    def remove_member(self, workspace, actor, user, key) -> None:
        self.conn.execute("update jwt_members set active = false where workspace_id = %s and user_id = %s",
                          (workspace, user))


def test_an_identity_policy_reading_jwt_claims_is_judged_through_the_binding(harness_run):
    db = harness_run.create_empty("identity-jwt")
    try:
        with db.connect_owner(autocommit=True) as owner:
            owner.execute(SCHEMA)
            owner.execute(sql.SQL("grant select on jwt_users, jwt_members to {}").format(
                sql.Identifier(harness_run.spec.app_role)))
            world = seed_identity_world(JwtProduct(owner))
            rules = {"public.jwt_users": IdentityTable(key="user_id", actor_setting="app.actor_id")}
            claims = BindingSpec(settings={"app.workspace_id": "{tenant_id}",
                                           "request.jwt.claims": '{"sub": "{user_id}"}'})
            spec = replace(harness_run.spec, binding=claims,
                           standards=replace(harness_run.spec.standards, identity_tables=rules))
            assert identity_findings(db.connect_app, owner, spec, world) == []

            # the same product judged without the claims (the old actor_setting-only binding):
            # everyone "sees []", which is the harness's blindness, not the product's fault
            blind = replace(spec, binding=BindingSpec(settings={"app.workspace_id": "{tenant_id}"}))
            found = identity_findings(db.connect_app, owner, blind, world)
            assert found and all("hides" in f.problem for f in found)
    finally:
        harness_run.drop(db)
