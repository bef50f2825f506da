"""A clone is handed out again only when proven unchanged: a test that wrote anything, anywhere
(rows, catalogs, sequences, the database object), or is still connected, never leaks it to the
next one; a test that only read gives its clone back, reset, with a connection to it."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
import uuid

import psycopg
import pytest
from psycopg import sql

from harness import unchanged
from harness.backends.embedded import SERVER_SETTINGS, EmbeddedBackend
from harness.lifecycle import record_server
from harness.pool import ClonePool, create_clone_sql
from harness.run_directory import claim_run_directory
from tests.harness.conftest import run_pytest
from tests.waits import wait_for

_names = itertools.count(1)


def _pool(harness_run, cls=ClonePool, owner=None) -> ClonePool:
    """A reusing pool of one clone; ``owner(name)`` opens its owner connections (ahead and to prove)."""
    prefix = f"harness_{harness_run.tag}_reusetest_"
    ahead = {"owner": owner or (lambda name: harness_run.database(name).connect_owner(autocommit=True))}
    return cls(harness_run.server.admin, harness_run.template(), lambda: f"{prefix}{next(_names)}",
               1, "file_copy", connect_ahead=ahead, reuse=True)


def _use(pool: ClonePool, harness_run, change) -> str:
    """Takes a clone, runs ``change(conn, name)`` on a connection to it, gives it back, and waits
    until the pool has judged it."""
    name = pool.take()
    conn = pool.connection(name, "owner") or harness_run.database(name).connect_owner(autocommit=True)
    try:
        change(conn, name)
    finally:
        conn.close()
    pool.give_back(name)
    assert pool.settle(60)
    return name


def _read(conn, name):
    conn.execute("select count(*) from users").fetchone()


def _a_sequence(conn) -> str:
    return conn.execute("select c.oid::regclass::text from pg_class c "
                        "where c.relkind = 'S' order by 1 limit 1").fetchone()[0]


def _insert(conn, name):
    conn.execute("insert into users (email) values ('leak@example.com')")


def _insert_rolled_back(conn, name):
    conn.autocommit = False
    conn.execute("insert into users (email) values ('leak@example.com')")
    conn.rollback()


def _stats_reset_after_writing(conn, name):
    _insert(conn, name)
    conn.execute("select pg_stat_reset()")


_ROWS = "row(s) inserted, updated or deleted, catalogs included"
_SEQUENCE = "a sequence was read or advanced"
_MARKED = "a per-database setting, comment or security label names it"

# each change, and the part of the proof that must refuse the clone for it
CHANGES = {
    "row inserted": (_insert, _ROWS),
    "row inserted then rolled back": (_insert_rolled_back, _ROWS),
    "statistics reset after writing": (_stats_reset_after_writing, "its statistics were reset by someone else"),
    "table created": (lambda conn, name: conn.execute("create table leaked (x int)"), _ROWS),
    "empty table truncated": (lambda conn, name: conn.execute("truncate users cascade"), _ROWS),
    "temp table": (lambda conn, name: conn.execute("create temp table scratch (x int)"), _ROWS),
    "nextval": (lambda conn, name: conn.execute("select nextval(%s)", (_a_sequence(conn),)), _SEQUENCE),
    "setval": (lambda conn, name: conn.execute("select setval(%s, 4242)", (_a_sequence(conn),)), _SEQUENCE),
    "database setting": (lambda conn, name: conn.execute(
        sql.SQL("alter database {} set search_path = pg_catalog").format(sql.Identifier(name))), _MARKED),
    "database comment": (lambda conn, name: conn.execute(
        sql.SQL("comment on database {} is 'leaked'").format(sql.Identifier(name))), _MARKED),
    "database connection limit": (lambda conn, name: conn.execute(
        sql.SQL("alter database {} connection limit 50").format(sql.Identifier(name))),
        "its pg_database row changed"),
}


def _databases(harness_run) -> set[str]:
    with psycopg.connect(harness_run.server.admin.conninfo()) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def test_a_clone_only_read_comes_back_reset_with_a_connection(harness_run):
    """Reuse happens (else the proofs below prove nothing): the same clone, its statistics as a
    new clone's, the connection that proved it handed to the next taker."""
    pool = _pool(harness_run)
    try:
        first = _use(pool, harness_run, _read)
        second = pool.take()
        assert second == first and pool.reused == 1, f"not reused: {dict(pool.unproven)}"
        conn = pool.connection(second, "owner")
        assert conn is not None
        assert conn.execute("select current_database()").fetchone()[0] == first
        assert conn.execute("select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) "
                            "from pg_stat_user_tables").fetchone()[0] == 0
        conn.close()
        pool.give_back(second)
    finally:
        pool.close(drop=True)


def test_a_connection_still_opening_ahead_does_not_spoil_the_proof(harness_run):
    """A taker that took a clone while the pool was still opening its connection connects itself;
    the pool's late connection is a session on the clone, and a proof run before it arrived and
    left refused a clone that was only read (a flaky CI failure of the test above): the clone is
    proven once the pool's own connection is done."""
    opening = threading.Event()

    def late_owner(name):
        conn = harness_run.database(name).connect_owner(autocommit=True)
        opening.set()
        time.sleep(unchanged.LEAVE_SECONDS + 0.5)   # past the proof's wait for sessions to leave
        return conn

    pool = _pool(harness_run, owner=late_owner)
    try:
        pool.start()
        assert opening.wait(60)               # the pool's connection is on the first clone ...
        first = pool.take()
        assert pool.connection(first, "owner") is None   # ... and not handed over yet
        with harness_run.database(first).connect_owner(autocommit=True) as conn:
            _read(conn, first)
        pool.give_back(first)
        assert pool.settle(60)
        second = pool.take()
        assert second == first and pool.reused == 1, f"not reused: {dict(pool.unproven)}"
        pool.give_back(second)
    finally:
        pool.close(drop=True)


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_clone_changed_in_any_way_is_never_handed_out_again(harness_run, change):
    pool = _pool(harness_run)
    try:
        make, caught_by = CHANGES[change]
        used = _use(pool, harness_run, make)
        after = pool.take()
        assert after != used and pool.reused == 0
        (reason,) = pool.unproven                         # one clone given back, refused once
        assert caught_by in reason, reason
        assert used not in _databases(harness_run)          # dropped, not kept aside
        with harness_run.database(after).connect_owner() as conn:
            assert conn.execute("select count(*) from users").fetchone()[0] == 0
        pool.give_back(after)
    finally:
        pool.close(drop=True)


def test_a_clone_still_connected_is_never_handed_out_again(harness_run):
    pool = _pool(harness_run)
    leaked = None
    try:
        name = pool.take()
        leaked = harness_run.database(name).connect_owner(autocommit=True)
        pool.give_back(name)
        assert pool.settle(60)
        assert pool.take() != name and pool.reused == 0
    finally:
        pool.close(drop=True)
        if leaked is not None:
            leaked.close()


def test_a_session_still_leaving_is_waited_for_and_a_clone_only_read_is_reused(harness_run):
    """A session that leaves only after its clone was given back (its backend scheduled late on
    a loaded machine) is waited for, up to ``LEAVE_SECONDS``, and the clone it only read is still
    reused. (With 0.1 s, a read-only clone was once dropped at load 19 and the reuse test
    failed.) Here the session leaves 0.3 s into the proof."""
    pool = _pool(harness_run)
    try:
        name = pool.take()
        conn = pool.connection(name, "owner") or harness_run.database(name).connect_owner(autocommit=True)
        _read(conn, name)
        pool.give_back(name)                             # still connected
        assert wait_for(lambda: pool._checking == 1)     # the proof is waiting for it to leave
        time.sleep(0.3)                                  # how late it leaves, not a synchronisation
        conn.close()
        assert pool.settle(60)
        assert pool.take() == name and pool.reused == 1
    finally:
        pool.close(drop=True)


class _VouchingPool(ClonePool):
    """A known-bad pool: hands every clone out again, proof or not."""

    def _check(self, admin, name):
        with self._cond:
            self._checking -= 1
            self._open[name] = {}
            self._ready.appendleft(name)
            self.reused += 1
            self._cond.notify_all()


def test_the_leak_check_bites_on_a_pool_that_reuses_without_proof(harness_run):
    """The check above is not vacuous: without the proof, the next taker sees the write."""
    pool = _pool(harness_run, _VouchingPool)
    try:
        used = _use(pool, harness_run, _insert)
        after = pool.take()
        assert after == used
        with harness_run.database(after).connect_owner() as conn:
            assert conn.execute("select count(*) from users").fetchone()[0] == 1
        pool.give_back(after)
    finally:
        pool.close(drop=True)


FIXTURE_TESTS = '''
seen = {}


def test_1_reads(fresh_database, owner_conn):
    seen["reader"] = fresh_database.name
    assert owner_conn.execute("select count(*) from users").fetchone()[0] == 0


def test_2_gets_the_same_clone_again(harness_run):
    assert harness_run.pool.settle(60)                 # the reader's clone judged
    with harness_run.fresh_database() as db, db.connect_owner() as conn:
        assert db.name == seen["reader"]               # reused: proven unchanged
        assert conn.execute("select count(*) from users").fetchone()[0] == 0


def test_3_writes(fresh_database, owner_conn):
    seen["writer"] = fresh_database.name
    owner_conn.execute("insert into users (email) values ('leak@example.com')")


def test_4_sees_nothing_of_it(harness_run):
    assert harness_run.pool.settle(60)                 # the writer's clone judged
    with harness_run.fresh_database() as db, db.connect_owner() as conn:
        assert db.name != seen["writer"]
        assert conn.execute("select count(*) from users").fetchone()[0] == 0
'''


@pytest.mark.slow
def test_through_the_fixtures_a_write_never_reaches_the_next_test(pytester_dir):
    """End to end, with the plugin's own pool: the reader's clone goes to the next test, the
    writer's does not."""
    (pytester_dir / "test_inner.py").write_text(FIXTURE_TESTS)
    result = run_pytest(pytester_dir, "-p", "no:randomly", "-p", "no:xdist", "test_inner.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout



class _TwoPhaseBackend(EmbeddedBackend):
    """The embedded server with prepared transactions enabled (the harness's own has them off,
    as PostgreSQL does by default; a server a DSN points at may have them on)."""

    def server_settings(self) -> tuple[str, ...]:
        return (*SERVER_SETTINGS, "max_prepared_transactions=4")


@pytest.fixture(scope="module")
def two_phase_admin():
    """The superuser's connection parameters of a throwaway server that allows PREPARE
    TRANSACTION, recorded as a run (a killed test's server is stopped by the next cleanup)."""
    backend = _TwoPhaseBackend()
    folder = claim_run_directory(f"reuse-2pc-{uuid.uuid4().hex}")
    state = backend.start(folder / "server")
    try:
        record_server(folder, state)
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            admin.execute("create database template_2pc")
        with psycopg.connect(state.admin.with_db("template_2pc").conninfo()) as conn:
            conn.execute("create table notes (body text)")   # no sequence: only the row counts
        yield state.admin
    finally:
        backend.stop(state)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_clone_with_a_prepared_transaction_left_behind_is_never_proven_unchanged(two_phase_admin):
    """A session that prepares a transaction and leaves has every counter still at zero (its
    writes are counted at COMMIT/ROLLBACK PREPARED): the proof sees the prepared transaction
    itself. The same clone, once it is finished, is judged by its counts again."""
    def connect(name: str) -> psycopg.Connection:
        return psycopg.connect(two_phase_admin.with_db(name).conninfo(), autocommit=True)

    with psycopg.connect(two_phase_admin.conninfo(), autocommit=True) as admin:
        admin.execute(create_clone_sql("clone_2pc", "template_2pc", "file_copy"))
        recorded = unchanged.identity(admin, "clone_2pc")
        with psycopg.connect(two_phase_admin.with_db("clone_2pc").conninfo()) as conn:
            conn.execute("insert into notes values ('left prepared')")
            conn.execute("prepare transaction 'left_behind'")
        written = ("select tup_inserted + tup_updated + tup_deleted from pg_stat_database "
                   "where datname = 'clone_2pc'")
        sessions = "select count(*) from pg_stat_activity where datname = 'clone_2pc'"
        try:
            # the session has left (so the proof is not refused for a session still leaving) and
            # its counts are flushed: they alone would vouch for the clone
            assert wait_for(lambda: admin.execute(sessions).fetchone()[0] == 0)
            assert admin.execute(written).fetchone()[0] == 0
            assert unchanged.prove_unchanged(admin, "clone_2pc", recorded, connect) == \
                unchanged.Unproven("a prepared transaction waits on it")
        finally:
            with connect("clone_2pc") as conn:
                conn.execute("rollback prepared 'left_behind'")
        # counted once finished (by the session that finished it, when it has left) ...
        assert wait_for(lambda: admin.execute(sessions).fetchone()[0] == 0)
        assert admin.execute(written).fetchone()[0] == 1
        assert unchanged.prove_unchanged(admin, "clone_2pc", recorded, connect) == \
            unchanged.Unproven("1 row(s) inserted, updated or deleted, catalogs included")  # ... and seen
        admin.execute("drop database clone_2pc with (force)")


@pytest.mark.slow
def test_a_clone_left_with_a_prepared_transaction_is_dropped_and_the_pool_goes_on(two_phase_admin):
    """DROP DATABASE ... WITH (FORCE) ends sessions but not a prepared transaction: the pool rolls
    it back from inside the clone and drops it, instead of stopping for every later taker."""
    names = (f"clone_2pc_pool_{n}" for n in itertools.count())
    pool = ClonePool(two_phase_admin, "template_2pc", lambda: next(names), 1, "file_copy",
                     connect_ahead={"owner": lambda name: psycopg.connect(
                         two_phase_admin.with_db(name).conninfo(), autocommit=True)}, reuse=True)
    try:
        used = pool.take()
        with psycopg.connect(two_phase_admin.with_db(used).conninfo()) as conn:
            conn.execute("insert into notes values ('left prepared')")
            conn.execute("prepare transaction 'left_in_the_pool'")
        pool.give_back(used)
        assert pool.settle(60)
        after = pool.take(timeout=60)                     # the pool still hands clones out
        assert after != used and pool.reused == 0
        assert pool.unproven == {"a prepared transaction waits on it": 1}, dict(pool.unproven)
        with psycopg.connect(two_phase_admin.conninfo()) as admin:
            assert admin.execute("select count(*) from pg_database where datname = %s",
                                 (used,)).fetchone()[0] == 0
            assert admin.execute("select count(*) from pg_prepared_xacts").fetchone()[0] == 0
        pool.give_back(after)
    finally:
        pool.close(drop=True)
