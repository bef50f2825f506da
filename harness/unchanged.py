"""The proof that a clone given back is unchanged, so that it can be handed out again.

A test that only reads leaves its clone equal to the template. A new clone for the next test
costs the server ~20 ms (a ``FILE_COPY`` of ~500 files and two checkpoints) and dropping the old
one a third of that; proving the old one unchanged costs a connection, which the next taker
gets (:mod:`harness.pool`). A clone is handed out again only when every part of the proof holds:

1. **no session is on it any more**: a backend flushes its statistics before it leaves
   ``pg_stat_activity`` (at exit its statistics are flushed, forced, by a ``before_shmem_exit``
   hook, and its ``pg_stat_activity`` entry cleared by an ``on_shmem_exit`` hook, which runs
   after), so what a later statement reads counts everything every session did; nor does a
   **prepared transaction** wait on it: its writes are counted only when it is committed or
   rolled back, so a session can leave one behind with every counter still at zero;
2. **its database object is as made**: its ``pg_database`` row (owner, ACL, connection limit,
   allow_connections, tablespace, collation version) equals the row recorded when it was
   made, and no per-database setting, comment or security label names it (``ALTER DATABASE``
   writes shared catalogs, which its own statistics do not count);
3. **no row was inserted, updated or deleted** since the pool last reset its statistics, in any
   table, the system catalogs included (so every DDL statement, TRUNCATE, CLUSTER, VACUUM FULL,
   temp tables, large objects, COPY and rolled-back writes count), nobody else reset them
   (``stats_reset`` as the pool left it), and ``track_counts`` is on for the server;
4. **no sequence was touched**: ``nextval`` and ``setval`` change a sequence without counting a
   row, but any access to a sequence's page counts in ``pg_statio_all_sequences``.

Then its statistics are reset (a reused clone shows the zero counters of a new one) and the
connection that checked goes to the next taker. What the proof cannot see: a superuser session
that switched ``track_counts`` off for itself before writing (nothing a test does by accident).
A crash restart of the server resets statistics too, but it also ends the pool's admin
connections, which stops the pool (:class:`harness.pool.PoolBroken`) before anything is reused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

__all__ = ["Recorded", "Unproven", "identity", "prove_unchanged"]

# the row as made, minus what VACUUM moves on its own
_IDENTITY = """select (to_jsonb(d) - array['datfrozenxid', 'datminmxid'])::text
from pg_database d where d.datname = %s"""

_STATE = """select (to_jsonb(d) - array['datfrozenxid', 'datminmxid'])::text,
       exists (select 1 from pg_db_role_setting r where r.setdatabase = d.oid)
         or exists (select 1 from pg_shdescription c
                    where c.objoid = d.oid and c.classoid = 'pg_database'::regclass)
         or exists (select 1 from pg_shseclabel l
                    where l.objoid = d.oid and l.classoid = 'pg_database'::regclass),
       coalesce(s.tup_inserted + s.tup_updated + s.tup_deleted, 0),
       s.stats_reset,
       current_setting('track_counts')::bool,
       (select count(*) from pg_stat_activity a where a.datid = d.oid),
       exists (select 1 from pg_prepared_xacts p where p.database = d.datname)
from pg_database d left join pg_stat_database s on s.datid = d.oid
where d.datname = %s"""

# read on its own, before _STATE: within one statement the two reads are not ordered, so a
# session could flush its counts after they were read and leave before pg_stat_activity was
_SESSIONS = """select count(*) from pg_stat_activity a join pg_database d on d.oid = a.datid
where d.datname = %s"""

# sessions still leaving (a closed connection's backend exits a moment later): waited for this
# long, then the clone is dropped instead (a leaked connection keeps it changed, maybe). Only a
# leaked connection waits it out; 0.1 s once dropped a clone a test had only read on a 2-core
# machine at load 19 (a backend scheduled late to exit), and test_reuse expects that one reused
LEAVE_SECONDS = 2.0


@dataclass(frozen=True)
class Recorded:
    """What a clone was when the pool last vouched for it."""

    identity: str                  # its pg_database row
    stats_reset: datetime | None   # None: never reset (a new clone)


def identity(admin: psycopg.Connection, name: str) -> Recorded:
    """The record of a clone just made (read on the admin connection that made it)."""
    row = admin.execute(_IDENTITY, (name,)).fetchone()
    if row is None:
        raise psycopg.OperationalError(f"database {name} vanished right after it was made")
    return Recorded(identity=row[0], stats_reset=None)


@dataclass(frozen=True)
class Unproven:
    """Why a clone given back was not proven unchanged (it is dropped, never handed out again)."""

    reason: str


def prove_unchanged(admin: psycopg.Connection, name: str, recorded: Recorded,
                    connect) -> tuple[psycopg.Connection, Recorded] | Unproven:
    """``(a connection to the clone, its new record)`` when the proof holds, else why not.

    ``connect(name)`` opens an autocommit superuser connection to the clone (the pool's owner
    connection, handed to the next taker). Errors on ``admin`` propagate (the pool is broken);
    errors on the clone's own connection mean "not proven".
    """
    deadline = time.monotonic() + LEAVE_SECONDS
    pause = 0.002
    while admin.execute(_SESSIONS, (name,)).fetchone()[0] != 0:
        if time.monotonic() > deadline:
            return Unproven(f"a session stayed on it past {LEAVE_SECONDS:g} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)   # prompt for a backend exiting, few queries for a leak
    # every session has left, so every count it made is flushed: read them now, in a later
    # statement (a session that arrived since keeps the clone unproven)
    row = admin.execute(_STATE, (name,)).fetchone()
    if row is None:
        return Unproven("renamed or dropped while it was being proven")
    ident, shared_marks, rows_written, stats_reset, counting, sessions, prepared = row
    problems = [why for failed, why in (
        (sessions != 0, f"{sessions} session(s) arrived while it was being proven"),
        (prepared, "a prepared transaction waits on it"),
        (ident != recorded.identity, "its pg_database row changed"),
        (shared_marks, "a per-database setting, comment or security label names it"),
        (rows_written != 0, f"{rows_written} row(s) inserted, updated or deleted, catalogs included"),
        (not counting, "track_counts is off"),
        (stats_reset != recorded.stats_reset, "its statistics were reset by someone else"),
    ) if failed]
    if problems:
        return Unproven("; ".join(problems))
    try:
        conn = connect(name)
    except psycopg.Error as exc:
        return Unproven(f"the proving connection failed ({type(exc).__name__})")
    try:
        touched = conn.execute("select coalesce(sum(blks_read + blks_hit), 0) "
                               "from pg_statio_all_sequences").fetchone()[0]
        if touched != 0:
            conn.close()
            return Unproven("a sequence was read or advanced")
        conn.execute("select pg_stat_reset()")
        reset_at = conn.execute("select stats_reset from pg_stat_database "
                                "where datname = current_database()").fetchone()[0]
    except psycopg.Error as exc:
        conn.close()
        return Unproven(f"the proving connection failed ({type(exc).__name__})")
    if reset_at is None:
        conn.close()
        return Unproven("its statistics could not be reset")
    return conn, Recorded(identity=recorded.identity, stats_reset=reset_at)
