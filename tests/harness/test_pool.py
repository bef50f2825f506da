"""The clone pool on a real server: fresh, never shared, made ahead of demand, dropped after use."""

from __future__ import annotations

import itertools
import time

import psycopg
import pytest

from harness.migrations import current_heads, script_heads
from harness.pool import ClonePool, PoolBroken

_names = itertools.count(1)


def _pool(harness_run, size: int, template: str | None = None) -> ClonePool:
    prefix = f"harness_{harness_run.tag}_pooltest_"
    return ClonePool(harness_run.server.admin, template or harness_run.template(),
                     lambda: f"{prefix}{next(_names)}", size, "file_copy")


def _databases(harness_run) -> set[str]:
    with psycopg.connect(harness_run.server.admin.conninfo()) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def test_each_take_is_a_fresh_migrated_clone_nobody_else_got(harness_run):
    """Takes never repeat a name, each clone is at head and empty, even past the pool's size."""
    pool = _pool(harness_run, size=2)
    try:
        names = [pool.take() for _ in range(5)]
        assert len(set(names)) == 5
        for name in names:
            db = harness_run.database(name)
            assert current_heads(db.owner) == script_heads(harness_run.spec)
            with db.connect_owner() as conn:
                assert conn.execute("select count(*) from users").fetchone()[0] == 0
                conn.execute("insert into users (email) values ('only-mine@example.com')")
                conn.commit()
        # a write in one clone is seen in no other, nor in the next one handed out
        other = harness_run.database(pool.take())
        with other.connect_owner() as conn:
            assert conn.execute("select count(*) from users").fetchone()[0] == 0
        for name in [*names, other.name]:
            pool.give_back(name)
    finally:
        pool.close(drop=True)
    assert not {n for n in _databases(harness_run) if "_pooltest_" in n}


def test_the_pool_fills_ahead_of_demand_and_drops_in_the_background(harness_run):
    """Clones exist before anyone asks; a given-back clone is dropped, a leaked connection too."""
    pool = _pool(harness_run, size=3)
    try:
        pool.start()
        assert pool.take() not in ()  # the first take waits for the first clone at most
        for _ in range(400):
            if pool.ready == 3:
                break
            time.sleep(0.05)
        assert pool.ready == 3
        name = pool.take()
        leaked = harness_run.database(name).connect_owner()
        pool.give_back(name)
        assert pool.settle(60)
        assert name not in _databases(harness_run)
        assert leaked.closed or leaked.broken or _query_fails(leaked)
    finally:
        pool.close(drop=True)


def _query_fails(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("select 1")
    except psycopg.OperationalError:
        return True
    return False


def test_a_pool_that_cannot_clone_says_why_instead_of_hanging(harness_run):
    """A missing template makes take() fail with the server's reason, promptly."""
    pool = _pool(harness_run, size=1, template="harness_no_such_template")
    try:
        with pytest.raises(PoolBroken, match="harness_no_such_template"):
            pool.take(timeout=60)
    finally:
        pool.close(drop=True)


def test_fresh_database_fixtures_get_a_database_nobody_used(fresh_database, owner_conn, harness_run):
    """The fixture hands out a pooled clone: empty, at head, and not the template itself."""
    assert fresh_database.name != harness_run.template()
    assert owner_conn.execute("select count(*) from workspaces").fetchone()[0] == 0
    assert current_heads(fresh_database.owner) == script_heads(harness_run.spec)
