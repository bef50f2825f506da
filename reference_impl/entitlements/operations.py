"""The reference entitlement operations: the ``entitlements`` capability as the service runs it.

Every operation is one call of a SQL function of migration 0004_entitlements inside one
app-role transaction bound to the workspace (``harness.tenancy``), so row-level security
applies and the check and the increment are one atomic step. A session keeps one connection
and sends the transaction (BEGIN, the binding, the call, COMMIT) as one pipeline: the counter
row is locked only for the server's own work, never across a network round trip. At
SERIALIZABLE a call that fails with 40001 (or a deadlock, 40P01) is retried whole, with a
jittered backoff; the outcome says how many attempts it took.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import IsolationLevel

from harness.counters.capability import (
    ISOLATION_LEVELS,
    ConsumeOutcome,
    PeriodRollover,
    PeriodUsage,
    PlanChange,
    PlanTerms,
    UsageRecord,
)
from harness.lifecycle import Database
from harness.tenancy import bind_workspace
from reference_impl.connections import AppConnections

__all__ = ["EntitlementOperations", "EntitlementSessionImpl", "period_label"]

_LEVELS = {"read committed": IsolationLevel.READ_COMMITTED,
           "serializable": IsolationLevel.SERIALIZABLE}
_RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
MAX_ATTEMPTS = 200
T = TypeVar("T")


def period_label(start: datetime | None) -> str | None:
    return None if start is None else start.isoformat()


class EntitlementSessionImpl:
    """One worker's connection; every call is one bound transaction, retried when it must be."""

    def __init__(self, conn: psycopg.Connection, setting: str, isolation: str) -> None:
        self.conn, self.setting, self.isolation = conn, setting, isolation

    def consume(self, workspace: UUID, feature: str, amount: int,
                idempotency_key: str) -> ConsumeOutcome:
        row, attempts = self.call(workspace, "select * from consume_entitlement(%s, %s, %s, %s)",
                                  (workspace, feature, amount, idempotency_key))
        granted, used, quota, grace, start, replayed = row
        return ConsumeOutcome(bool(granted), used, quota, grace, period_label(start),
                              bool(replayed), attempts)

    def reset_period(self, workspace: UUID, feature: str) -> PeriodRollover:
        row, attempts = self.call(workspace, "select * from rollover_usage_period(%s, %s)",
                                  (workspace, feature))
        return PeriodRollover(period_label(row[0]), row[1], period_label(row[2]), attempts)

    def change_plan(self, workspace: UUID, feature: str, terms: PlanTerms) -> PlanChange:
        row, attempts = self.call(
            workspace, "select * from change_entitlement_plan(%s, %s, %s, %s, %s)",
            (workspace, feature, terms.plan, terms.quota, terms.grace))
        return PlanChange(period_label(row[0]), row[1], row[2], row[3], attempts)

    def call(self, workspace: UUID, query: str, params: tuple) -> tuple[tuple, int]:
        """One bound transaction running ``query``, pipelined; its single row and the attempts."""
        def pipelined() -> tuple:
            with self.conn.pipeline():
                with self.conn.transaction():
                    bind_workspace(self.conn, self.setting, workspace)
                    cur = self.conn.execute(query, params)
                row = cur.fetchone()
            if row is None:
                raise LookupError(f"{query.split('(')[0]} returned no row for workspace {workspace}")
            return row
        return self.retrying(pipelined)

    def transact(self, workspace: UUID, work: Callable[[psycopg.Connection], T]) -> tuple[T, int]:
        """``work(conn)`` in one bound transaction, retried whole on 40001 / 40P01."""
        def once() -> T:
            with self.conn.transaction():
                bind_workspace(self.conn, self.setting, workspace)
                return work(self.conn)
        return self.retrying(once)

    @staticmethod
    def retrying(attempt_once: Callable[[], T]) -> tuple[T, int]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return attempt_once(), attempt
            except _RETRYABLE:
                if attempt == MAX_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, min(0.02, 0.0005 * 2 ** min(attempt, 6))))
        raise AssertionError("unreachable")


class EntitlementOperations(AppConnections):
    """The ``entitlements`` capability of the reference adapter (mixed into ReferenceAdapter)."""

    db: Database
    setting: str

    def grant_entitlement(self, workspace: UUID, feature: str, terms: PlanTerms) -> None:
        """The entitlement and its first period, which opens at the start of this month."""
        with self.in_workspace(workspace) as conn:
            conn.execute("insert into entitlements (workspace_id, feature, plan, quota, grace) "
                         "values (%s, %s, %s, %s, %s)",
                         (workspace, feature, terms.plan, terms.quota, terms.grace))
            conn.execute(
                "insert into usage_counters (workspace_id, feature, period_start, period_end, "
                "quota, grace) select workspace_id, feature, date_trunc('month', now()), "
                "date_trunc('month', now()) + period_length, quota, grace from entitlements "
                "where workspace_id = %s and feature = %s", (workspace, feature))

    @contextmanager
    def entitlement_session(self, isolation: str = "read committed"
                            ) -> Iterator[EntitlementSessionImpl]:
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"isolation {isolation!r} is not one of {ISOLATION_LEVELS}")
        # a session borrows a connection of its own (callers hold several at once, one per
        # racer); its isolation level is put back when it is given back
        with self._app() as conn:
            conn.isolation_level = _LEVELS[isolation]
            yield self.session_class(conn, self.setting, isolation)

    session_class: Any = EntitlementSessionImpl

    def consume(self, workspace: UUID, feature: str, amount: int,
                idempotency_key: str) -> ConsumeOutcome:
        with self.entitlement_session() as session:   # a borrowed connection, as every call
            return session.consume(workspace, feature, amount, idempotency_key)

    def usage_periods(self, workspace: UUID, feature: str) -> Sequence[PeriodUsage]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select period_start, used, quota, grace, closed from usage_counters "
                                "where workspace_id = %s and feature = %s order by period_start",
                                (workspace, feature)).fetchall()
        return [PeriodUsage(period_label(s), u, q, g, c) for s, u, q, g, c in rows]

    def consumption_records(self, workspace: UUID, feature: str) -> Sequence[UsageRecord]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select idempotency_key, amount, coalesce(granted, false), "
                                "period_start from consumption_records where workspace_id = %s "
                                "and feature = %s order by record_id", (workspace, feature)).fetchall()
        return [UsageRecord(k, a, g, period_label(p)) for k, a, g, p in rows]
