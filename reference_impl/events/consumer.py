"""The reference consumer: events in, effects out, each exactly once, or a dead letter.

``handle_event`` claims ``(consumer, event_id)`` in the inbox with ``INSERT ... ON CONFLICT DO
NOTHING`` *first*, then runs the handler, in one transaction bound to the event's workspace: a
second delivery waits on the first's claim and then finds it, a crash rolls back claim and effect
together. A handler that raises is retried with exponential backoff up to ``HANDLER_ATTEMPTS``,
then the event is dead-lettered with the error class, attempts and last error. Replay of a dead
letter locks it, applies the event through the same inbox and marks it replayed, in one
transaction, so replaying twice changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import psycopg

from harness.replay.capability import (
    ALREADY_REPLAYED,
    APPLIED,
    DEAD_LETTERED,
    DUPLICATE,
    NOT_FOUND,
    DeadLetterView,
    EnvelopeRejected,
)
from harness.tenancy import bound_workspace
from reference_impl.connections import AppConnections
from reference_impl.events.catalog import envelope_problems

HANDLER_ATTEMPTS = 3
BACKOFF_SECONDS = 0.002


class HandlerError(RuntimeError):
    """The handler failed on this event (a poison event, or a fault injected on cue)."""


class ConsumerOperations(AppConnections):
    db: Any
    setting: str

    # -- producing ---------------------------------------------------------------------------
    def publish_event(self, envelope: Mapping[str, Any]) -> None:
        problems = envelope_problems(envelope)
        if problems:
            raise EnvelopeRejected("; ".join(problems))
        with self.in_workspace(envelope["workspace_id"]) as conn:
            conn.execute(
                "insert into events (workspace_id, event_id, event_type, correlation_id, version, "
                "occurred_at, payload) values (%s, %s, %s, %s, %s, %s, %s)",
                (envelope["workspace_id"], envelope["event_id"], envelope["event_type"],
                 envelope["correlation_id"], envelope["version"], envelope["occurred_at"],
                 json.dumps(envelope["payload"])))

    # -- consuming ---------------------------------------------------------------------------
    def handle_event(self, consumer: str, envelope: Mapping[str, Any], *,
                     before_commit: Callable[[int], None] | None = None) -> str:
        attempt = 1
        while True:
            try:
                return self._handle_once(consumer, envelope, before_commit)
            except HandlerError as err:
                if attempt == HANDLER_ATTEMPTS:
                    self._dead_letter(consumer, envelope, err, attempt)
                    return DEAD_LETTERED
                time.sleep(BACKOFF_SECONDS * 2 ** attempt)
                attempt += 1

    def set_handler_fault(self, consumer: str, event_type: str, error: str | None) -> None:
        faults = self.__dict__.setdefault("_handler_faults", {})
        if error is None:
            faults.pop((consumer, event_type), None)
        else:
            faults[(consumer, event_type)] = error

    def _handle_once(self, consumer: str, envelope: Mapping[str, Any],
                     before_commit: Callable[[int], None] | None) -> str:
        with self._app() as conn:
            with bound_workspace(conn, self.setting, envelope["workspace_id"]):
                if not self._claim_inbox(conn, consumer, envelope):
                    return DUPLICATE
                self._apply_effect(conn, consumer, envelope)
                if before_commit is not None:
                    before_commit(conn.info.backend_pid)
            return APPLIED

    def _claim_inbox(self, conn: psycopg.Connection, consumer: str, envelope: Mapping[str, Any]) -> bool:
        """True when this transaction is the first to process the event for ``consumer``."""
        row = conn.execute(
            "insert into inbox (workspace_id, consumer, event_id) values (%s, %s, %s) "
            "on conflict (workspace_id, consumer, event_id) do nothing returning event_id",
            (envelope["workspace_id"], consumer, envelope["event_id"])).fetchone()
        return row is not None

    def _apply_effect(self, conn: psycopg.Connection, consumer: str, envelope: Mapping[str, Any]) -> None:
        error = self.__dict__.get("_handler_faults", {}).get((consumer, envelope["event_type"]))
        if error is not None:
            raise HandlerError(error)
        conn.execute("insert into event_effects (workspace_id, consumer, event_id, event_type) "
                     "values (%s, %s, %s, %s)", (envelope["workspace_id"], consumer,
                                                 envelope["event_id"], envelope["event_type"]))

    def _dead_letter(self, consumer: str, envelope: Mapping[str, Any], err: Exception, attempts: int) -> None:
        with self.in_workspace(envelope["workspace_id"]) as conn:
            conn.execute(
                "insert into dead_letters (workspace_id, consumer, event_id, error_class, last_error, "
                "attempts) values (%s, %s, %s, %s, %s, %s) "
                "on conflict (workspace_id, consumer, event_id) do update set "
                "attempts = dead_letters.attempts + excluded.attempts, status = 'open', "
                "error_class = excluded.error_class, last_error = excluded.last_error, replayed_at = null",
                (envelope["workspace_id"], consumer, envelope["event_id"], type(err).__name__,
                 str(err), attempts))

    # -- dead letters ------------------------------------------------------------------------
    def replay_event_dead_letter(self, workspace: Any, consumer: str, event_id: str) -> str:
        try:
            with self.in_workspace(workspace) as conn:
                row = conn.execute("select status from dead_letters where workspace_id = %s and "
                                   "consumer = %s and event_id = %s for update",
                                   (workspace, consumer, event_id)).fetchone()
                if row is None:
                    return NOT_FOUND
                if row[0] == "replayed":
                    return ALREADY_REPLAYED
                envelope = self._stored_event(conn, workspace, event_id)
                claimed = self._claim_inbox(conn, consumer, envelope)
                if claimed:
                    self._apply_effect(conn, consumer, envelope)
                self._mark_replayed(conn, workspace, consumer, event_id)
                return APPLIED if claimed else DUPLICATE
        except HandlerError as err:
            self._dead_letter(consumer, {"workspace_id": workspace, "event_id": event_id}, err, 1)
            return DEAD_LETTERED

    def _mark_replayed(self, conn: psycopg.Connection, workspace: Any, consumer: str, event_id: str) -> None:
        conn.execute("update dead_letters set status = 'replayed', replayed_at = now() "
                     "where workspace_id = %s and consumer = %s and event_id = %s",
                     (workspace, consumer, event_id))

    def event_dead_letters(self, workspace: Any, consumer: str) -> list[DeadLetterView]:
        rows = self._read(workspace, "select event_id, consumer, error_class, attempts, last_error, "
                          "status from dead_letters where workspace_id = %s and consumer = %s "
                          "order by created_at", (workspace, consumer))
        return [DeadLetterView(str(r[0]), *r[1:]) for r in rows]

    # -- observing ---------------------------------------------------------------------------
    def applied_effects(self, workspace: Any, consumer: str) -> list[str]:
        return [str(r[0]) for r in self._read(
            workspace, "select event_id from event_effects where workspace_id = %s and consumer = %s "
            "order by effect_id", (workspace, consumer))]

    def inbox_entries(self, workspace: Any, consumer: str) -> list[str]:
        return [str(r[0]) for r in self._read(
            workspace, "select event_id from inbox where workspace_id = %s and consumer = %s",
            (workspace, consumer))]

    def stored_events(self, workspace: Any) -> list[dict[str, Any]]:
        rows = self._read(workspace, "select event_id, event_type, workspace_id, correlation_id, "
                          "version, occurred_at, payload from events where workspace_id = %s "
                          "order by recorded_at", (workspace,))
        names = ("event_id", "event_type", "workspace_id", "correlation_id", "version",
                 "occurred_at", "payload")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _stored_event(self, conn: psycopg.Connection, workspace: Any, event_id: str) -> dict[str, Any]:
        row = conn.execute("select event_type from events where workspace_id = %s and event_id = %s",
                           (workspace, event_id)).fetchone()
        if row is None:
            raise LookupError(f"dead letter {event_id} has no stored event to replay")
        return {"workspace_id": workspace, "event_id": event_id, "event_type": row[0]}

    def _read(self, workspace: Any, query: str, params: tuple) -> list[tuple]:
        with self.in_workspace(workspace) as conn:
            return conn.execute(query, params).fetchall()
