"""For adapters of a ``preset: supabase`` target: a user signed up as Supabase Auth signs one up,
and a request run as PostgREST runs one.

Every Supabase product's ``create_tenant`` starts the same way: a row in ``auth.users`` (what the
auth service writes on sign-up; the product's triggers react to it), then requests as that user
(``SET LOCAL ROLE authenticated`` plus the JWT claims, through the spec's binding). Only the
product's own step between (creating its account, team or workspace) differs, so that step is
all an adapter writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import psycopg

from harness.adapter import AccessDenied
from harness.lifecycle import Database
from harness.tenancy import Principal, bound

__all__ = ["as_user", "sign_up"]


def sign_up(db: Database, label: str = "user", *, email: str | None = None) -> UUID:
    """A new user in ``auth.users``, as Supabase Auth makes one on sign-up (with ``email``, or a
    fresh address made from ``label``); returns its id. The product's triggers on auth.users run."""
    email = email or f"{label.lower().replace(' ', '-')}-{uuid.uuid4().hex[:10]}@example.test"
    with db.connect_owner(autocommit=True) as conn:
        return conn.execute("insert into auth.users (email) values (%s) returning id",
                            (email,)).fetchone()[0]


@contextmanager
def as_user(db: Database, user: UUID, refusals: tuple[str, ...] = ("42501",)) -> Iterator[psycopg.Connection]:
    """One transaction acting as ``user``, as PostgREST runs a request of theirs; an error whose
    SQLSTATE is in ``refusals`` (a policy or privilege, the product's RAISE) is AccessDenied."""
    with db.connect_app() as conn:
        try:
            with bound(conn, db.spec.binding, Principal(None, {"user_id": user})):
                yield conn
        except psycopg.Error as err:
            if err.sqlstate in refusals:
                raise AccessDenied(f"{err.sqlstate}: {str(err).splitlines()[0]}") from err
            raise
