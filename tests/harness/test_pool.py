"""The clone pool on a real server: fresh, never shared, made ahead of demand, dropped after use."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace

import psycopg
import pytest

from harness.errors import UnsafeAppRole
from harness.lifecycle import Run
from harness.migrations import current_heads, script_heads
from harness.pool import CONNECTED_AHEAD, MAX_REFUSALS, ClonePool, PoolBroken
from tests.harness.conftest import run_pytest
from tests.waits import wait_for

_names = itertools.count(1)


def _pool(harness_run, size: int, template: str | None = None, creators: int = 1,
          connect_ahead=None, **options) -> ClonePool:
    prefix = f"harness_{harness_run.tag}_pooltest_"
    return ClonePool(harness_run.server.admin, template or harness_run.template(),
                     lambda: f"{prefix}{next(_names)}", size, "file_copy", creators=creators,
                     connect_ahead=connect_ahead, **options)


def _databases(harness_run) -> set[str]:
    with psycopg.connect(harness_run.server.admin.conninfo()) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


@pytest.mark.parametrize("creators", [1, 3])
def test_each_take_is_a_fresh_migrated_clone_nobody_else_got(harness_run, creators):
    """Takes never repeat a name, each clone is at head and empty, even past the pool's size,
    however many threads make clones side by side."""
    pool = _pool(harness_run, size=2, creators=creators)
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
        first = pool.take()           # the first take waits for the first clone at most
        assert wait_for(lambda: pool.ready == 3)
        pool.give_back(first)
        name = pool.take()
        leaked = harness_run.database(name).connect_owner()
        pool.give_back(name)
        assert pool.settle(60)
        assert name not in _databases(harness_run)
        assert leaked.closed or leaked.broken or _query_fails(leaked)
    finally:
        pool.close(drop=True)


def test_no_more_clones_are_made_ahead_than_takes_are_expected(harness_run):
    """A pool told to expect three takes makes three clones ahead though its size is eight, and
    none after the third take; a take beyond the expected ones is still served, made on demand."""
    pool = _pool(harness_run, size=8, expected=3)
    try:
        pool.start()
        assert wait_for(lambda: pool.ready == 3)
        time.sleep(0.3)                           # room for a fourth clone, were one to be made
        assert (pool.ready, pool.created) == (3, 3)
        taken = [pool.take() for _ in range(3)]
        time.sleep(0.3)
        assert (pool.ready, pool.created) == (0, 3)
        extra = pool.take()                       # past the expectation: made for the taker
        assert extra not in taken and pool.created == 4
        for name in [*taken, extra]:
            pool.give_back(name)
        assert pool.settle(60)
    finally:
        pool.close(drop=True)
    assert not {n for n in _databases(harness_run) if "_pooltest_" in n}


def test_an_unbounded_pool_keeps_its_size_ready(harness_run):
    """With no expectation (a caller that cannot count its takes) the pool keeps ``size`` clones
    ready, as before."""
    pool = _pool(harness_run, size=3)
    try:
        pool.start()
        assert wait_for(lambda: pool.ready == 3)
        pool.give_back(pool.take())
        assert wait_for(lambda: pool.ready == 3)
        assert pool.created == 4
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


def _owner_ahead(harness_run):
    return {"owner": lambda name: harness_run.database(name).connect_owner(autocommit=True)}


def test_a_taken_clone_comes_with_its_connection_open_to_it_and_to_nobody_else(harness_run):
    """The connection opened ahead reaches the clone taken, is handed out once, and one nobody
    took is closed when its clone is given back. (A clone made for a taker already waiting comes
    without: the taker connects while the pool makes the next clone.)"""
    pool = _pool(harness_run, size=2, connect_ahead=_owner_ahead(harness_run))
    try:
        pool.start()
        assert wait_for(lambda: pool.opened_ahead("owner") == 2)
        first, second = pool.take(), pool.take()
        conn = pool.connection(first, "owner")
        assert conn is not None
        assert conn.execute("select current_database()").fetchone()[0] == first
        assert pool.connection(first, "owner") is None      # handed out once
        assert pool.connection(first, "app") is None        # a kind nobody opens ahead
        conn.close()
        pool.give_back(first)
        pool.give_back(second)   # its connection, untaken, is closed here
        assert pool.settle(60)
        assert not {first, second} & _databases(harness_run)
    finally:
        pool.close(drop=True)


def test_connections_are_opened_ahead_only_while_takers_use_them(harness_run):
    """A clone given back with its connection untouched stops the opening ahead; a taker that
    asks for one again starts it."""
    pool = _pool(harness_run, size=2, connect_ahead=_owner_ahead(harness_run))
    try:
        assert pool.ahead("owner")
        pool.give_back(pool.take())                          # never asked for its connection
        assert not pool.ahead("owner")
        name = pool.take()
        conn = pool.connection(name, "owner")
        if conn is not None:
            conn.close()
        pool.give_back(name)
        assert pool.ahead("owner")
        # the clones already waiting in the pool get theirs too
        assert wait_for(lambda: pool.opened_ahead("owner") == 2)
        name = pool.take()
        conn = pool.connection(name, "owner")
        assert conn is not None
        assert conn.execute("select current_database()").fetchone()[0] == name
        conn.close()
        pool.give_back(name)
    finally:
        pool.close(drop=True)


def test_a_connection_that_cannot_be_opened_ahead_leaves_the_taker_to_meet_the_reason(harness_run):
    """A refused connection (here: a role that does not exist) does not break the pool: the clone
    is still handed out, without a connection; the pool tries ahead again a bounded number of
    times, says why it stopped, and tries once more only when a taker asks for one again."""
    calls: list[str] = []

    def nobody(name: str) -> psycopg.Connection:
        calls.append(name)
        return psycopg.connect(harness_run.database(name).owner.as_user("harness_no_such_role", "x")
                               .conninfo())

    pool = _pool(harness_run, size=1, connect_ahead={"owner": nobody}, retry_after=0.01)
    try:
        pool.start()
        assert wait_for(lambda: "given up" in (pool.refusal("owner") or ""))
        assert len(calls) == MAX_REFUSALS and not pool.ahead("owner")
        assert "harness_no_such_role" in pool.refusal("owner")
        assert f"refusal {MAX_REFUSALS} in a row" in pool.refusal("owner")
        name = pool.take(timeout=60)
        assert pool.connection(name, "owner") is None       # the taker connects itself
        pool.give_back(name)                                # ... and asked: one more try
        assert wait_for(lambda: f"refusal {MAX_REFUSALS + 1} in a row" in pool.refusal("owner"))
        assert len(calls) == MAX_REFUSALS + 1 and not pool.ahead("owner")
    finally:
        pool.close(drop=True)


def test_a_connection_refused_ahead_is_tried_again_after_a_while(harness_run):
    """A refusal that passes (here: too many clients, once) stops the opening ahead only for a
    while: the kind is tried again no sooner than ``retry_after`` later, the next clone gets its
    connection, and the refusal stays recorded. (A refusal once stopped it for good, so a test
    waiting for connections opened ahead stalled under load.)"""
    attempts: list[float] = []
    retrying, release = threading.Event(), threading.Event()

    def owner(name: str) -> psycopg.Connection:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise psycopg.OperationalError("sorry, too many clients already")
        if len(attempts) == 2:            # held, so that what the pool says meanwhile is fixed
            retrying.set()
            release.wait(60)
        return harness_run.database(name).connect_owner(autocommit=True)

    pool = _pool(harness_run, size=1, connect_ahead={"owner": owner}, retry_after=0.2)
    try:
        pool.start()
        assert retrying.wait(60), "a refused kind was never tried ahead again"
        assert attempts[1] - attempts[0] >= 0.2
        assert pool.refusal("owner") == ("OperationalError: sorry, too many clients already "
                                         "(refusal 1 in a row; tried ahead again after 0.2 s)")
        assert pool.opened_ahead("owner") == 0
        release.set()
        assert wait_for(lambda: pool.opened_ahead("owner") == 1)
        assert pool.ahead("owner")
        name = pool.take()
        conn = pool.connection(name, "owner")
        assert conn is not None
        assert conn.execute("select current_database()").fetchone()[0] == name
        conn.close()
        pool.give_back(name)
    finally:
        release.set()
        pool.close(drop=True)


def test_a_connection_failing_because_its_clone_was_taken_meanwhile_keeps_the_opening_ahead(harness_run):
    """A clone taken while its connection was still opening (then given back and dropped) makes
    that connection fail: that says nothing of the kind, so the next clone still gets one. (It
    used to count as a refusal and stop the opening ahead for good.)"""
    opening, release = threading.Event(), threading.Event()
    first: list[str] = []

    def owner(name: str) -> psycopg.Connection:
        if not first:
            first.append(name)
            opening.set()
            release.wait(60)
            raise psycopg.OperationalError(f'database "{name}" does not exist')
        return harness_run.database(name).connect_owner(autocommit=True)

    pool = _pool(harness_run, size=1, connect_ahead={"owner": owner})
    try:
        pool.start()
        assert opening.wait(60)
        name = pool.take()
        assert name == first[0] and pool.connection(name, "owner") is None
        pool.give_back(name)                 # the taker asked for one: wanted ahead
        release.set()
        assert wait_for(lambda: (name, "owner") not in pool._connecting)
        assert pool.ahead("owner")
        assert wait_for(lambda: pool.opened_ahead("owner") == 1)
    finally:
        release.set()
        pool.close(drop=True)


def test_owner_conn_fixture_is_the_connection_opened_ahead(harness_run, fresh_database, owner_conn):
    """The fixture's connection reaches the test's own clone, as the owner, autocommit."""
    assert owner_conn.execute("select current_database(), current_user").fetchone() == (
        fresh_database.name, fresh_database.owner.user)
    assert owner_conn.autocommit


def test_an_unsafe_app_role_is_refused_every_time_though_asked_once(harness_run, owner_conn):
    """The role check is cached per process, and so is its refusal: every later app_conn fails too."""
    role = f"harness_unsafe_cached_{harness_run.tag}"
    owner_conn.execute(f"create role {role} login bypassrls")
    try:
        run = Run(replace(harness_run.spec, app_role=role), harness_run.run_id)
        for _ in range(2):
            with pytest.raises(UnsafeAppRole, match="BYPASSRLS"):
                run.require_safe_app_role(owner_conn)
    finally:
        owner_conn.execute(f"drop role {role}")


def test_only_the_clones_next_in_line_hold_connections(harness_run):
    """Idle backends count against max_connections: a full pool keeps connections open for its
    next CONNECTED_AHEAD clones only, and opens the next one's as one is taken."""
    pool = _pool(harness_run, size=4, creators=2, connect_ahead=_owner_ahead(harness_run))
    try:
        pool.start()
        assert wait_for(lambda: pool.ready == 4 and pool.opened_ahead("owner") == CONNECTED_AHEAD)
        time.sleep(0.3)
        assert pool.opened_ahead("owner") == CONNECTED_AHEAD
        name = pool.take()
        conn = pool.connection(name, "owner")
        assert conn is not None
        conn.close()
        assert wait_for(lambda: pool.opened_ahead("owner") == CONNECTED_AHEAD)
        pool.give_back(name)
    finally:
        pool.close(drop=True)


WRITING_TESTS = '''
def test_{n}(fresh_database, owner_conn):
    owner_conn.execute("insert into users (email) values ('w{n}@example.com')")
'''
COUNTING_TESTS = '''
def test_module(module_database):
    with module_database.connect_owner(autocommit=True) as conn:
        conn.execute("insert into users (email) values ('m@example.com')")

def test_zz_count(harness_run):
    print("POOL", harness_run.pool.expected, harness_run.pool.taken, harness_run.pool.created)
'''


def test_a_sessions_pool_makes_the_clones_its_tests_ask_for_and_no_more(pytester_dir):
    """Three tests on ``fresh_database`` and a module on ``module_database`` (and a test that
    takes none): the session's pool expects four takes and makes four clones, not eight."""
    (pytester_dir / "test_a.py").write_text("".join(WRITING_TESTS.format(n=n) for n in range(3)))
    (pytester_dir / "test_b.py").write_text(COUNTING_TESTS)
    out = run_pytest(pytester_dir, "-q", "-s", "-p", "no:randomly", "test_a.py", "test_b.py")
    assert out.returncode == 0, out.stdout + out.stderr
    expected, taken, created = map(int, out.stdout.split("POOL ")[1].split()[:3])
    assert (expected, taken, created) == (4, 4, 4), out.stdout
