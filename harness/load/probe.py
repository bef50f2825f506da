"""A short probe of the live API before the load: what one list request costs the database, and
how many requests the API can hold in the database at once.

**Statements per request.** ``pg_stat_statements`` counts every statement a backend executes the
moment it ends, in shared memory, so a snapshot before and after a few serial requests gives each
request's statements, rows returned and shared buffers touched, exactly. Only this database's
statements of the app role are counted (``userid``: the role in effect, so an API that logs in
as another role and ``SET ROLE``\\s to it is counted too) and transaction control and settings
(``BEGIN``, ``SET``) are left out: what is left is what the request asked of the database, and
other databases of the same server (other tests running meanwhile) count for nothing. Only a
full statement table could skew it (``pg_stat_statements.max``: new statements elsewhere evict
the least used entries, the probe's among them): when ``pg_stat_statements_info`` says entries
were evicted between the two snapshots, the requests are sent and counted again. The
cumulative table counters (``pg_stat_user_tables``) would need no extension but reach shared
memory only when a backend has been idle for up to ten seconds, so they cannot be read per request;
without ``pg_stat_statements`` the probe says so and the items it feeds fail with that reason.

**Requests in the database at once.** The probe holds an ``ACCESS EXCLUSIVE`` lock on the listed
table, sends ``n`` list requests at the same time, and counts the backends waiting on that lock
(:mod:`harness.lock_queue`): each is a request that got a connection and reached its list statement.
A pool of two connections shows two, whatever the load; the lock is released within seconds, so
every request still completes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from harness.lock_queue import queued_behind, until_queued

__all__ = ["Capacity", "ListProbe", "StatementSnapshot", "list_probe", "requests_in_database",
           "snapshot_statements"]

_NOT_WORK = r"^\s*(begin|start|commit|end|rollback|savepoint|release|set|reset|show|discard|deallocate)\y"


@dataclass(frozen=True)
class StatementSnapshot:
    """queryid -> (query, calls, rows, shared buffers touched) for the app role in this database."""

    entries: dict[int, tuple[str, int, int, int]]
    evictions: int | None = None     # pg_stat_statements_info.dealloc: times entries were evicted


def snapshot_statements(owner: psycopg.Connection, app_role: str) -> StatementSnapshot:
    evictions = None
    if owner.execute("select to_regclass('pg_stat_statements_info') is not null").fetchone()[0]:
        evictions = int(owner.execute("select dealloc from pg_stat_statements_info").fetchone()[0])
    rows = owner.execute(
        "select s.queryid, s.query, s.calls, s.rows, s.shared_blks_hit + s.shared_blks_read "
        "  from pg_stat_statements s join pg_database d on d.oid = s.dbid "
        " where d.datname = current_database() and s.toplevel "
        "   and s.userid = (select oid from pg_roles where rolname = %s) "
        "   and s.query !~* %s", (app_role, _NOT_WORK)).fetchall()
    entries: dict[int, tuple[str, int, int, int]] = {}
    for queryid, query, calls, returned, blocks in rows:
        # the same statement may show once per top-level flag or role: add them up
        _, c, r, b = entries.get(queryid, (query, 0, 0, 0))
        entries[queryid] = (query, c + int(calls), r + int(returned), b + int(blocks))
    return StatementSnapshot(entries, evictions)


@dataclass(frozen=True)
class ListProbe:
    """``requests`` serial list requests of one tenant at one page size, and what each cost."""

    tenant_class: str
    limit: int
    requests: int
    statuses: tuple[int, ...]
    statements_per_request: float
    rows_per_request: float
    blocks_per_request: float
    statements: tuple[dict[str, Any], ...] = field(default=())   # per statement: calls, rows, blocks

    @property
    def label(self) -> str:
        return f"{self.tenant_class} tenant, limit {self.limit}"

    def by_rows(self) -> list[dict[str, Any]]:
        """The statements, the most rows per call first (ties: most calls): where to look first
        for the one that read the page. Not the answer by itself: an API may return the page as
        one row (PostgreSQL rendering it as JSON, as PostgREST does), so which statement read
        the listed table is decided by its plan (``scenarios/load/conftest.py``)."""
        return sorted(self.statements, key=lambda s: (s["rows"] / max(s["calls"], 1), s["calls"]),
                      reverse=True)


def list_probe(base_url: str, token: str, owner: psycopg.Connection, app_role: str, *,
               tenant_class: str, limit: int, requests: int = 5, path: str = "/v1/work-items",
               attempts: int = 5) -> ListProbe:
    """Sends one warm-up and then ``requests`` list requests, one after the other; again (up to
    ``attempts`` times) while entries were evicted from pg_stat_statements in between."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base_url}{path}?limit={limit}"
    with httpx.Client(timeout=30.0) as client:
        _status(client, url, headers)             # a pooled connection and warm caches first
        for _ in range(attempts):
            before = snapshot_statements(owner, app_role)
            statuses = tuple(_status(client, url, headers) for _ in range(requests))
            after = snapshot_statements(owner, app_role)
            if after.evictions == before.evictions:
                break
    moved = []
    for queryid, (query, calls, returned, blocks) in after.entries.items():
        _, c0, r0, b0 = before.entries.get(queryid, (query, 0, 0, 0))
        if calls > c0:
            moved.append({"query": query, "calls": calls - c0, "rows": returned - r0, "blocks": blocks - b0})
    moved.sort(key=lambda s: -s["calls"])
    return ListProbe(tenant_class, limit, requests, statuses,
                     sum(s["calls"] for s in moved) / requests,
                     sum(s["rows"] for s in moved) / requests,
                     sum(s["blocks"] for s in moved) / requests, tuple(moved))


def _status(client: httpx.Client, url: str, headers: dict[str, str]) -> int:
    """The answer's status; 0 when none came (judged as a failed request, not a harness error)."""
    try:
        return client.get(url, headers=headers).status_code
    except httpx.HTTPError:
        return 0


@dataclass(frozen=True)
class Capacity:
    """How many of ``sent`` simultaneous requests were inside the database at once."""

    sent: int
    in_database: int                 # the most backends seen waiting on the probe's lock
    statuses: tuple[int, ...]
    held_s: float
    timeline: tuple[tuple[float, int], ...]   # (seconds since the requests left, backends waiting)


def requests_in_database(base_url: str, token: str, connect: Callable[[], psycopg.Connection],
                         table: str, sent: int, *, hold_s: float = 4.0, steady_s: float = 1.5,
                         path: str = "/v1/work-items?limit=5") -> Capacity:
    """Holds a lock on ``table`` while ``sent`` list requests arrive together; counts how many
    reach the database (wait on the lock) before it is released."""
    headers = {"Authorization": f"Bearer {token}"}
    with connect() as holder, connect() as watcher:
        watcher.autocommit = True
        holder.execute(sql.SQL("lock table {} in access exclusive mode").format(sql.Identifier(table)))
        pid = holder.info.backend_pid
        start = threading.Barrier(sent)

        def one(_: int) -> int:
            start.wait(10)
            try:
                return httpx.get(f"{base_url}{path}", headers=headers, timeout=30.0).status_code
            except httpx.HTTPError:
                return 0

        with ThreadPoolExecutor(max_workers=sent) as pool:
            futures = [pool.submit(one, i) for i in range(sent)]
            began = time.monotonic()
            try:
                # under the reference's own 5 s wait for a pooled connection
                queue = until_queued(lambda: queued_behind(watcher, pid), sent,
                                     limit_s=hold_s, steady_s=steady_s)
            finally:
                held = time.monotonic() - began
                holder.rollback()           # releases the lock: the queued requests go on
            statuses = tuple(f.result() for f in futures)
    return Capacity(sent, queue.most, statuses, round(held, 2), queue.timeline)
