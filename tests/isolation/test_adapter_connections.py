"""The reference adapter keeps its app-role connections and reuses them
(reference_impl/connections.py): an operation borrows one, never shared while it is borrowed,
and nothing of one operation reaches the next."""

from __future__ import annotations

import threading
import uuid

import psycopg

from reference_impl.connections import AppConnections
from tests.waits import wait_for


def _app_sessions(owner_conn: psycopg.Connection, app_role: str) -> set[int]:
    return {r[0] for r in owner_conn.execute(
        "select pid from pg_stat_activity where datname = current_database() and usename = %s",
        (app_role,))}


def test_operations_one_after_another_reuse_one_session_and_borrowers_at_once_do_not(
        target_adapter, owner_conn):
    app_role = target_adapter.db.spec.app_role
    before = _app_sessions(owner_conn, app_role)   # the pool may hold one opened ahead
    owner = target_adapter.create_user("one@example.com")
    workspace = target_adapter.create_workspace("one", owner)
    assert target_adapter.can_access(workspace, owner)
    assert len(_app_sessions(owner_conn, app_role) - before) == 1

    seen: list[bool] = []
    later = threading.Thread(target=lambda: seen.append(target_adapter.can_access(workspace, owner)))
    later.start()
    later.join(30)
    assert seen == [True]                            # another thread, one after: the same session
    assert len(_app_sessions(owner_conn, app_role) - before) == 1

    with target_adapter._app() as held:              # borrowed: the next borrower gets its own
        during = threading.Thread(target=lambda: seen.append(target_adapter.can_access(workspace, owner)))
        during.start()
        during.join(30)
        assert seen == [True, True]
        assert len(_app_sessions(owner_conn, app_role) - before) == 2
        assert held.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    target_adapter.close()
    # a closed session's backend leaves pg_stat_activity once it has exited (soon, not at once)
    assert wait_for(lambda: _app_sessions(owner_conn, app_role) - before == set(), 30), \
        _app_sessions(owner_conn, app_role) - before
    assert target_adapter.can_access(workspace, owner)   # used again after close: a new session
    assert len(_app_sessions(owner_conn, app_role) - before) == 1


def test_sessions_held_at_once_are_distinct_and_their_isolation_does_not_carry_over(target_adapter):
    with target_adapter.entitlement_session("serializable") as one, \
            target_adapter.entitlement_session("serializable") as two:
        assert one.conn is not two.conn
        assert one.conn.execute("show transaction_isolation").fetchone()[0] == "serializable"
        one.conn.rollback()
    with target_adapter._app() as conn:
        assert conn in (one.conn, two.conn)            # given back, and reused
        assert conn.execute("show transaction_isolation").fetchone()[0] == "read committed"
        conn.rollback()


def test_a_reused_connection_carries_no_binding_and_no_open_transaction(target_adapter, owner_conn):
    setting = target_adapter.setting
    owner = target_adapter.create_user("two@example.com")
    workspace = target_adapter.create_workspace("two", owner)
    assert target_adapter.can_access(workspace, owner)
    with target_adapter._app() as conn:
        # the workspace bound by the last operation ended with its transaction
        assert conn.execute("select current_setting(%s, true)", (setting,)).fetchone()[0] in (None, "")
        # a statement outside a transaction block opens one; leaving rolls it back
        conn.execute("select set_config(%s, %s, false)", ("app.leftover", "x"))
        user = uuid.uuid4()   # users is under RLS: a new identity inserts itself
        conn.execute("select set_config('app.actor_id', %s, true)", (str(user),))
        conn.execute("insert into users (user_id, email) values (%s, 'left@example.com')", (user,))
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert owner_conn.execute("select count(*) from users where email = 'left@example.com'").fetchone()[0] == 0
    with target_adapter._app() as again:
        assert again is conn                      # given back idle, and borrowed again
        assert again.execute("select current_setting('app.leftover', true)").fetchone()[0] in (None, "")
        again.rollback()


def test_a_broken_connection_is_replaced_on_next_use(fresh_database, owner_conn):
    class Operations(AppConnections):
        def __init__(self, db) -> None:
            self.db = db

    ops = Operations(fresh_database)
    with ops._app() as first:
        pid = first.info.backend_pid
    owner_conn.execute("select pg_terminate_backend(%s)", (pid,))
    try:
        with ops._app() as conn:
            conn.execute("select 1")
    except psycopg.OperationalError:
        pass                                   # the terminated session's last word
    with ops._app() as second:
        assert second is not first and second.execute("select 1").fetchone() == (1,)
    ops.close()
    assert first.closed and second.closed
