"""The reference adapter keeps one app-role connection per thread (reference_impl/connections.py):
operations reuse it, each in its own transaction, and nothing of one operation reaches the next."""

from __future__ import annotations

import threading
import uuid

import psycopg

from reference_impl.connections import AppConnections


def _app_sessions(owner_conn: psycopg.Connection, app_role: str) -> set[int]:
    return {r[0] for r in owner_conn.execute(
        "select pid from pg_stat_activity where datname = current_database() and usename = %s",
        (app_role,))}


def test_operations_in_one_thread_share_one_session_and_threads_do_not(target_adapter, owner_conn):
    app_role = target_adapter.db.spec.app_role
    before = _app_sessions(owner_conn, app_role)   # the pool may hold one opened ahead
    owner = target_adapter.create_user("one@example.com")
    workspace = target_adapter.create_workspace("one", owner)
    assert target_adapter.can_access(workspace, owner)
    assert len(_app_sessions(owner_conn, app_role) - before) == 1

    seen: list[bool] = []
    other = threading.Thread(target=lambda: seen.append(target_adapter.can_access(workspace, owner)))
    other.start()
    other.join(30)
    assert seen == [True]
    target_adapter.close()
    assert _app_sessions(owner_conn, app_role) - before == set()
    assert target_adapter.can_access(workspace, owner)   # used again after close: a new session
    assert len(_app_sessions(owner_conn, app_role) - before) == 1


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
        assert again is conn
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
