"""A few prepared statements as one libpq pipeline, on a pooled psycopg connection's ``pgconn``.

The list endpoint's short path (``list_path.py``) sends three statements per request. Through
psycopg's ``Connection.pipeline()`` they cost ~0.25 ms of the API server's CPU per request
(cursors, generators, a result object per row); sent here with psycopg's own libpq binding
(``psycopg.pq``, text parameters, results read as bytes) they cost ~0.1 ms, measured with the
ad-hoc script described in benchmarks/README.md ("the list page as one row"). Nothing else
changes: the same statements, prepared once per connection (as psycopg prepares a statement on
its fifth use), sent together and ended by one sync, so they run in the one implicit
transaction the sync closes and a ``set_config(..., true)`` among them ends with them.

Waiting is ``select`` on the connection's socket, which lets the interpreter lock go, as
psycopg's own waits do. A statement that fails leaves its error as a :class:`psycopg.Error`
after the rest of the pipeline is drained (the connection idle and usable); a connection left
in any other state is closed, so its pool replaces it. Statements deallocated behind its back
(``DISCARD ALL``) are prepared again on the next call.
"""

from __future__ import annotations

import re
import select
import weakref
from collections.abc import Sequence
from functools import cache

import psycopg
from psycopg import pq

__all__ = ["Statement", "numbered", "run"]

ES = pq.ExecStatus
# (name, text with $n placeholders, text parameters)
Statement = tuple[bytes, bytes, Sequence[bytes | None]]
_prepared: weakref.WeakKeyDictionary[psycopg.Connection, set[bytes]] = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")
_NOT_PREPARED, _PREPARED_ALREADY = "26000", "42P05"   # DEALLOCATE or DISCARD ALL behind our back


@cache
def numbered(text: str) -> tuple[bytes, tuple[str | int, ...]]:
    """``text`` with psycopg's placeholders (``%s`` or ``%(name)s``, not both) as ``$n``, and
    what each ``$n`` takes: the position of a ``%s``, or a name (one ``$n`` however often it
    appears)."""
    order: list[str | int] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name is None or name not in order:
            order.append(len(order) if name is None else name)
        return f"${len(order) if name is None else order.index(name) + 1}"

    return _PLACEHOLDER.sub(number, text).encode(), tuple(order)


def run(conn: psycopg.Connection, statements: Sequence[Statement]) -> list[pq.abc.PGresult]:
    """Each statement's result, in order, from one round trip. Raises :class:`psycopg.Error`
    for a statement the server refused (the connection is left idle)."""
    pg = conn.pgconn
    known = _prepared.setdefault(conn, set())
    fresh = [name for name, _, _ in statements if name not in known]
    try:
        pg.enter_pipeline_mode()
        for name, text, params in statements:
            if name in fresh:
                pg.send_prepare(name, text)
            pg.send_query_prepared(name, params)
        pg.pipeline_sync()
        results = _drain(pg)
        pg.exit_pipeline_mode()
    except BaseException:
        conn.close()  # mid-pipeline: nothing else may use it; its pool makes a new one
        raise
    answers, error = [], None
    for name, _, _ in statements:
        if name in fresh:
            prepared = results.pop(0)
            if prepared.status == ES.COMMAND_OK:
                known.add(name)
            else:
                error = error or prepared
        answer = results.pop(0)
        if answer.status not in (ES.TUPLES_OK, ES.COMMAND_OK):
            error = error or answer
        answers.append(answer)
    if error is not None:
        sqlstate = _sqlstate(error)
        if sqlstate in (_NOT_PREPARED, _PREPARED_ALREADY):   # the session's statements are not
            with conn.transaction():                         # what we knew: read them again
                known.clear()
                known.update(r[0].encode() for r in conn.execute(
                    "select name from pg_prepared_statements").fetchall())
        message = (error.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(errors="replace")
        try:
            refused = psycopg.errors.lookup(sqlstate)
        except KeyError:
            refused = psycopg.DatabaseError
        raise refused(f"SQLSTATE {sqlstate}: {message}")
    return answers


def _sqlstate(result: pq.abc.PGresult) -> str:
    return (result.error_field(pq.DiagnosticField.SQLSTATE) or b"?????").decode()


def _drain(pg: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    """Every result up to the pipeline's sync (one per prepare and per query, aborted ones too)."""
    fd = pg.socket
    while pg.flush():
        readable, _, _ = select.select([fd], [fd], [])
        if readable:
            pg.consume_input()
    results = []
    while True:
        while pg.is_busy():
            select.select([fd], [], [])
            pg.consume_input()
        result = pg.get_result()
        if result is None:
            continue  # the end of one statement's results
        if result.status == ES.PIPELINE_SYNC:
            return results
        if result.status == ES.FATAL_ERROR and pg.status == pq.ConnStatus.BAD:
            raise psycopg.OperationalError("the connection was lost in the middle of a pipeline")
        results.append(result)
