"""Automation runs: keyed by an idempotency key, retried with backoff, escalated when exhausted.

``start_automation_run`` creates the run for a key once (``ON CONFLICT DO NOTHING`` on the
workspace's unique key, then a read of the winner), so concurrent starts share one run. Each
``attempt_automation_run`` locks the run, counts the attempt and either succeeds, schedules the
next attempt (``next_attempt_at``, doubling) or, on the last attempt, dead-letters the run and
writes an escalation row in the same transaction: an exhausted run is never dropped.
"""

from __future__ import annotations

from typing import Any

import psycopg

from harness.replay.capability import AutomationRunView
from reference_impl.connections import AppConnections

_COLUMNS = ("run_id, idempotency_key, status, attempts, max_attempts, next_attempt_at, last_error")


def _view(row: tuple) -> AutomationRunView:
    return AutomationRunView(str(row[0]), *row[1:])


class AutomationOperations(AppConnections):
    db: Any
    setting: str

    def start_automation_run(self, workspace: Any, automation: str, idempotency_key: str) -> str:
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "insert into automation_runs (workspace_id, automation, idempotency_key, next_attempt_at) "
                "values (%s, %s, %s, now()) on conflict (workspace_id, idempotency_key) do nothing "
                "returning run_id", (workspace, automation, idempotency_key)).fetchone()
            if row is None:
                row = conn.execute("select run_id from automation_runs where workspace_id = %s "
                                   "and idempotency_key = %s", (workspace, idempotency_key)).fetchone()
            return str(row[0])

    def set_automation_fault(self, automation: str, error: str | None) -> None:
        faults = self.__dict__.setdefault("_automation_faults", {})
        if error is None:
            faults.pop(automation, None)
        else:
            faults[automation] = error

    def attempt_automation_run(self, workspace: Any, run_id: str) -> AutomationRunView:
        with self.in_workspace(workspace) as conn:
            automation, status, attempts, max_attempts = conn.execute(
                "select automation, status, attempts, max_attempts from automation_runs "
                "where workspace_id = %s and run_id = %s for update", (workspace, run_id)).fetchone()
            if status not in ("succeeded", "dead_lettered"):
                error = self.__dict__.get("_automation_faults", {}).get(automation)
                self._record_attempt(conn, workspace, run_id, attempts + 1, max_attempts, error)
            return _view(conn.execute(f"select {_COLUMNS} from automation_runs where workspace_id = %s "
                                      "and run_id = %s", (workspace, run_id)).fetchone())

    @staticmethod
    def _record_attempt(conn: psycopg.Connection, workspace: Any, run_id: str, attempt: int,
                        max_attempts: int, error: str | None) -> None:
        if error is None:
            status, next_at = "succeeded", None
        elif attempt >= max_attempts:
            status, next_at = "dead_lettered", None
            conn.execute("insert into escalations (workspace_id, run_id, reason) values (%s, %s, %s)",
                         (workspace, run_id, f"retries exhausted after {attempt} attempts: {error}"))
        else:
            status, next_at = "retrying", 2 ** attempt
        conn.execute(
            "update automation_runs set status = %s, attempts = %s, last_error = %s, updated_at = now(), "
            "next_attempt_at = case when %s::int is null then null "
            "                  else now() + make_interval(secs => %s::int) end "
            "where workspace_id = %s and run_id = %s",
            (status, attempt, error, next_at, next_at, workspace, run_id))

    def automation_runs(self, workspace: Any) -> list[AutomationRunView]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute(f"select {_COLUMNS} from automation_runs where workspace_id = %s "
                                "order by created_at", (workspace,)).fetchall()
        return [_view(r) for r in rows]

    def escalations(self, workspace: Any, run_id: str) -> list[str]:
        with self.in_workspace(workspace) as conn:
            return [r[0] for r in conn.execute("select reason from escalations where workspace_id = %s "
                                               "and run_id = %s order by escalation_id",
                                               (workspace, run_id)).fetchall()]
