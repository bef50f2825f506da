"""reference_impl/api/prepared_pipeline.py on a real connection: results in order, one
transaction ended by the sync, statements prepared once, and a refused statement or a lost
connection reported as psycopg reports it, never a connection left mid-pipeline."""

from __future__ import annotations

import psycopg
import pytest

from reference_impl.api import prepared_pipeline
from reference_impl.api.prepared_pipeline import numbered

BIND = (b"t_bind", b"select set_config('app.probe', $1, true)", (b"bound",))
READ = (b"t_read", b"select current_setting('app.probe', true), $1::int + 1", (b"41",))


def test_placeholders_are_numbered_by_position_or_by_name():
    assert numbered("select %s, %s") == (b"select $1, $2", (0, 1))
    assert numbered("select %(a)s, %(b)s where %(a)s - 1 > 0") == (
        b"select $1, $2 where $1 - 1 > 0", ("a", "b"))


def _prepared(conn: psycopg.Connection) -> list[str]:
    return sorted(r[0] for r in conn.execute("select name from pg_prepared_statements").fetchall())


@pytest.mark.slow
def test_statements_run_in_order_in_one_transaction_and_are_prepared_once(app_conn):
    for _ in range(3):
        bound, read = prepared_pipeline.run(app_conn, [BIND, READ])
        assert (bound.get_value(0, 0), read.get_value(0, 0), read.get_value(0, 1)) == (b"bound", b"bound", b"42")
    with app_conn.transaction():   # the sync ended the transaction, and the binding with it
        assert app_conn.execute("select current_setting('app.probe', true)").fetchone()[0] in ("", None)
        assert _prepared(app_conn) == ["t_bind", "t_read"]


@pytest.mark.slow
def test_a_refused_statement_raises_its_sqlstate_and_leaves_the_connection_usable(app_conn):
    divide = (b"t_divide", b"select 1 / $1::int", (b"0",))
    with pytest.raises(psycopg.errors.DivisionByZero):
        prepared_pipeline.run(app_conn, [BIND, divide, READ])
    assert app_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # the statements prepared before the error are known: sent again they are not re-prepared
    bound, read = prepared_pipeline.run(app_conn, [BIND, READ])
    assert read.get_value(0, 0) == b"bound"
    with pytest.raises(psycopg.errors.SyntaxError):
        prepared_pipeline.run(app_conn, [(b"t_bad", b"selec 1", ())])
    fixed, = prepared_pipeline.run(app_conn, [(b"t_bad", b"select 1", ())])   # never prepared
    assert fixed.get_value(0, 0) == b"1"


@pytest.mark.slow
def test_statements_deallocated_or_forgotten_are_prepared_again_on_the_next_call(app_conn):
    prepared_pipeline.run(app_conn, [BIND, READ])
    app_conn.execute("deallocate all")
    app_conn.commit()
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        prepared_pipeline.run(app_conn, [BIND, READ])
    bound, read = prepared_pipeline.run(app_conn, [BIND, READ])
    assert read.get_value(0, 1) == b"42"
    prepared_pipeline._prepared[app_conn].clear()   # forgotten here, still prepared there
    with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        prepared_pipeline.run(app_conn, [BIND, READ])
    assert prepared_pipeline.run(app_conn, [BIND, READ])[1].get_value(0, 0) == b"bound"


@pytest.mark.slow
def test_a_connection_lost_mid_pipeline_is_closed_for_its_pool(app_conn, owner_conn):
    pid = app_conn.info.backend_pid
    prepared_pipeline.run(app_conn, [BIND])
    owner_conn.execute("select pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        prepared_pipeline.run(app_conn, [BIND, READ])
    assert app_conn.closed
