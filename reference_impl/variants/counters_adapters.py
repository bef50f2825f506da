"""Known-bad entitlement data paths: the counter bugs that pass every sequential test.

Each variant replaces one step of the reference session (``EntitlementSessionImpl``) with the
classic mistake, in plain SQL over several statements; the schema is the reference's. Each is
correct one call at a time and wrong only under contention, which is what the counter suite
(scenarios/counters) must show:

- :class:`SelectThenUpdateAdapter`: reads the counter, decides in the application and writes
  the new value back, without a lock (lost updates and grants above quota);
- :class:`SeparateQuotaCheckAdapter`: checks the quota in one statement and increments in
  another (``used = used + amount``: nothing lost, but grants above quota);
- :class:`DeleteReinsertResetAdapter`: rolls the period over by deleting the open row and
  re-inserting it closed with the count it read earlier, then a new one (usage granted in the
  gap vanishes from the closed period);
- :class:`KeyCheckedOutsideAdapter`: looks the idempotency key up in its own transaction before
  the consume's (two concurrent retries both pass the check and both count);
- :class:`RetryCountedTwiceAdapter`: answers a retry (same idempotency key) with the first
  outcome, as it should, but counts its amount again on the open period (the double-counted
  retry: correct answers, a wrong counter).
"""

from __future__ import annotations

from uuid import UUID

import psycopg

from harness.counters.capability import ConsumeOutcome, PeriodRollover
from reference_impl.adapter import ReferenceAdapter
from reference_impl.entitlements.operations import EntitlementSessionImpl, period_label

_OPEN = ("select used, quota, grace, period_start from usage_counters "
         "where workspace_id = %s and feature = %s and not closed")
_RECORD = ("insert into consumption_records (workspace_id, feature, idempotency_key, amount, "
           "granted, period_start, used_after, quota, grace) values (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
           "on conflict (workspace_id, idempotency_key) do nothing")
_EARLIER = ("select granted, used_after, quota, grace, period_start from consumption_records "
            "where workspace_id = %s and idempotency_key = %s")


def _replay(conn: psycopg.Connection, workspace: UUID, key: str) -> ConsumeOutcome | None:
    row = conn.execute(_EARLIER, (workspace, key)).fetchone()
    if row is None:
        return None
    return ConsumeOutcome(bool(row[0]), row[1], row[2], row[3], period_label(row[4]), True)


def _record(conn: psycopg.Connection, workspace: UUID, feature: str, amount: int, key: str,
            outcome: ConsumeOutcome, start) -> None:
    conn.execute(_RECORD, (workspace, feature, key, amount, outcome.granted, start, outcome.used,
                           outcome.quota, outcome.grace))


class _SelectThenUpdate(EntitlementSessionImpl):
    def consume(self, workspace: UUID, feature: str, amount: int, idempotency_key: str) -> ConsumeOutcome:
        def work(conn: psycopg.Connection) -> ConsumeOutcome:
            earlier = _replay(conn, workspace, idempotency_key)
            if earlier is not None:
                return earlier
            used, quota, grace, start = conn.execute(_OPEN, (workspace, feature)).fetchone()
            granted = used + amount <= quota + grace
            if granted:  # the mistake: the value read above is written back, no lock held
                used += amount
                conn.execute("update usage_counters set used = %s where workspace_id = %s and "
                             "feature = %s and period_start = %s", (used, workspace, feature, start))
            outcome = ConsumeOutcome(granted, used, quota, grace, period_label(start))
            _record(conn, workspace, feature, amount, idempotency_key, outcome, start)
            return outcome
        return self.transact(workspace, work)[0]


class _SeparateQuotaCheck(EntitlementSessionImpl):
    def consume(self, workspace: UUID, feature: str, amount: int, idempotency_key: str) -> ConsumeOutcome:
        def work(conn: psycopg.Connection) -> ConsumeOutcome:
            earlier = _replay(conn, workspace, idempotency_key)
            if earlier is not None:
                return earlier
            used, quota, grace, start = conn.execute(_OPEN, (workspace, feature)).fetchone()
            if used + amount > quota + grace:  # the mistake: checked here, incremented below
                outcome = ConsumeOutcome(False, used, quota, grace, period_label(start))
            else:
                used = conn.execute("update usage_counters set used = used + %s where workspace_id = %s "
                                    "and feature = %s and period_start = %s returning used",
                                    (amount, workspace, feature, start)).fetchone()[0]
                outcome = ConsumeOutcome(True, used, quota, grace, period_label(start))
            _record(conn, workspace, feature, amount, idempotency_key, outcome, start)
            return outcome
        return self.transact(workspace, work)[0]


class _DeleteReinsertReset(EntitlementSessionImpl):
    def reset_period(self, workspace: UUID, feature: str) -> PeriodRollover:
        def work(conn: psycopg.Connection) -> PeriodRollover:
            used, quota, grace, start = conn.execute(_OPEN, (workspace, feature)).fetchone()
            end = conn.execute("select period_end from usage_counters where workspace_id = %s and "
                               "feature = %s and period_start = %s", (workspace, feature, start)).fetchone()[0]
            # the mistake: the row is deleted and re-inserted with the count read above
            conn.execute("delete from usage_counters where workspace_id = %s and feature = %s "
                         "and period_start = %s", (workspace, feature, start))
            conn.execute("insert into usage_counters (workspace_id, feature, period_start, period_end, "
                         "used, quota, grace, closed) values (%s, %s, %s, %s, %s, %s, %s, true)",
                         (workspace, feature, start, end, used, quota, grace))
            conn.execute("insert into usage_counters (workspace_id, feature, period_start, period_end, "
                         "quota, grace) select %s, %s, %s, %s + period_length, quota, grace "
                         "from entitlements where workspace_id = %s and feature = %s",
                         (workspace, feature, end, end, workspace, feature))
            return PeriodRollover(period_label(start), used, period_label(end))
        return self.transact(workspace, work)[0]


class _KeyCheckedOutside(EntitlementSessionImpl):
    def consume(self, workspace: UUID, feature: str, amount: int, idempotency_key: str) -> ConsumeOutcome:
        earlier, _ = self.transact(workspace, lambda conn: _replay(conn, workspace, idempotency_key))
        if earlier is not None:  # the mistake: the key was checked in a transaction of its own
            return earlier

        def work(conn: psycopg.Connection) -> ConsumeOutcome:
            row = conn.execute(
                "update usage_counters set used = used + %s where workspace_id = %s and feature = %s "
                "and not closed and used + %s <= quota + grace returning used, quota, grace, period_start",
                (amount, workspace, feature, amount)).fetchone()
            granted = row is not None
            if row is None:
                row = conn.execute(_OPEN + " for share", (workspace, feature)).fetchone()
                row = (row[0], row[1], row[2], row[3])
            used, quota, grace, start = row
            outcome = ConsumeOutcome(granted, used, quota, grace, period_label(start))
            _record(conn, workspace, feature, amount, idempotency_key, outcome, start)
            return outcome
        return self.transact(workspace, work)[0]


class _RetryCountedTwice(EntitlementSessionImpl):
    def consume(self, workspace: UUID, feature: str, amount: int, idempotency_key: str) -> ConsumeOutcome:
        outcome = super().consume(workspace, feature, amount, idempotency_key)
        if outcome.replayed and outcome.granted:  # the mistake: the retry is counted again
            self.transact(workspace, lambda conn: conn.execute(
                "update usage_counters set used = used + %s where workspace_id = %s and feature = %s "
                "and not closed", (amount, workspace, feature)))
        return outcome


class SelectThenUpdateAdapter(ReferenceAdapter):
    session_class = _SelectThenUpdate


class SeparateQuotaCheckAdapter(ReferenceAdapter):
    session_class = _SeparateQuotaCheck


class DeleteReinsertResetAdapter(ReferenceAdapter):
    session_class = _DeleteReinsertReset


class KeyCheckedOutsideAdapter(ReferenceAdapter):
    session_class = _KeyCheckedOutside


class RetryCountedTwiceAdapter(ReferenceAdapter):
    session_class = _RetryCountedTwice
