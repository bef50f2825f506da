"""The stateful model of a consumer: deliver, redeliver, crash, fail, fix and replay.

:func:`consumer_machine` builds a hypothesis ``RuleBasedStateMachine`` over a target's
:class:`EventsCapability`. Each example gets a fresh workspace and publishes a small stream;
the rules deliver events (again and again), crash the handler before its commit, break and fix
an event type's handler, and replay dead letters. After every step the invariant holds: the
applied effects are exactly the distinct events that succeeded, once each, and every dead
letter is open or replayed as the history says. A failure carries the (shrunk) history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.replay.capability import (
    ALREADY_REPLAYED,
    APPLIED,
    DEAD_LETTERED,
    DUPLICATE,
    NOT_FOUND,
    EventsCapability,
)
from harness.replay.checks import require_exactly_once
from harness.replay.failures import ReplayFailure, as_json
from harness.replay.streams import envelope

__all__ = ["consumer_machine"]

CRASHED = "crashed"


def consumer_machine(target: EventsCapability, new_workspace: Callable[[], Any],
                     kill: Callable[[int], None], templates: Sequence[Mapping[str, Any]]) -> type:
    """A state machine class judging ``target``'s consumer; run it with hypothesis."""
    types = sorted({t["event_type"] for t in templates})
    indexes = st.integers(0, len(templates) - 1)

    class ConsumerModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.workspace = new_workspace()
            self.consumer = f"model-{uuid.uuid4().hex[:8]}"
            self.events = [envelope(self.workspace, t) for t in templates]
            for event in self.events:
                target.publish_event(event)
            self.succeeded: set[str] = set()
            self.letters: dict[str, str] = {}       # event id -> open / replayed
            self.broken: set[str] = set()
            self.delivered: set[int] = set()
            self.history: list[dict[str, Any]] = []

        def _expect(self, step: str, i: int, got: str, want: str) -> None:
            event = self.events[i]
            self.history.append({"step": step, "event": i, "event_type": event["event_type"],
                                 "outcome": got})
            if got != want:
                raise ReplayFailure(
                    f"{step} of event {i} ({event['event_type']}): the target said {got!r}, "
                    f"the model expected {want!r}", [("event history", as_json(self.history))])

        def _delivery(self, step: str, i: int, hook: Callable[[int], None] | None) -> None:
            event = self.events[i]
            eid = event["event_id"]
            want = DUPLICATE if eid in self.succeeded else (
                DEAD_LETTERED if event["event_type"] in self.broken else
                (CRASHED if hook else APPLIED))
            try:
                got = target.handle_event(self.consumer, event, before_commit=hook)
            except Exception as exc:  # noqa: BLE001 - the crash we caused
                if hook is None:
                    raise
                got = CRASHED if isinstance(exc, psycopg.OperationalError) else f"error: {exc!r}"
            self.delivered.add(i)
            if got == APPLIED:
                self.succeeded.add(eid)
            elif got == DEAD_LETTERED:
                self.letters[eid] = "open"
            self._expect(step, i, got, want)

        # each example starts with one handler broken, so dead letters (and their replays) come
        # within a few steps instead of rarely
        @initialize(event_type=st.sampled_from(types))
        def poison(self, event_type: str) -> None:
            self.fail(event_type)

        @rule(i=indexes)
        def deliver(self, i: int) -> None:
            self._delivery("deliver", i, None)

        @precondition(lambda self: self.delivered)
        @rule(data=st.data())
        def redeliver(self, data: Any) -> None:
            self._delivery("redeliver", data.draw(st.sampled_from(sorted(self.delivered))), None)

        @rule(i=indexes)
        def crash(self, i: int) -> None:
            self._delivery("crash", i, kill)

        @precondition(lambda self: len(self.broken) < len(types))
        @rule(event_type=st.sampled_from(types))
        def fail(self, event_type: str) -> None:
            target.set_handler_fault(self.consumer, event_type, "PoisonError: handler breaks on cue")
            self.broken.add(event_type)
            self.history.append({"step": "fail", "event_type": event_type})

        @precondition(lambda self: self.broken)
        @rule(event_type=st.sampled_from(types))
        def fix(self, event_type: str) -> None:
            target.set_handler_fault(self.consumer, event_type, None)
            self.broken.discard(event_type)
            self.history.append({"step": "fix", "event_type": event_type})

        @precondition(lambda self: self.letters)
        @rule(data=st.data())
        def replay(self, data: Any) -> None:
            ids = [e["event_id"] for e in self.events]
            self._replay(ids.index(data.draw(st.sampled_from(sorted(self.letters)))))

        def _replay(self, i: int) -> None:
            event = self.events[i]
            eid, status = event["event_id"], self.letters.get(event["event_id"])
            if status is None:
                want = NOT_FOUND
            elif status == "replayed":
                want = ALREADY_REPLAYED
            elif eid in self.succeeded:
                want = DUPLICATE
            else:
                want = DEAD_LETTERED if event["event_type"] in self.broken else APPLIED
            got = target.replay_event_dead_letter(self.workspace, self.consumer, eid)
            if got == APPLIED:
                self.succeeded.add(eid)
            if got in (APPLIED, DUPLICATE):
                self.letters[eid] = "replayed"
            self._expect("replay", i, got, want)

        @invariant()
        def effects_equal_the_distinct_events_that_succeeded(self) -> None:
            require_exactly_once(target, self.workspace, self.consumer, self.succeeded,
                                 "stateful model", history=self.history)
            seen = {d.event_id: d.status for d in target.event_dead_letters(self.workspace, self.consumer)}
            if seen != self.letters:
                raise ReplayFailure(
                    "stateful model: the dead letters disagree with the history",
                    [("dead letters seen", as_json(seen)), ("expected", as_json(self.letters)),
                     ("event history", as_json(self.history))])

        def teardown(self) -> None:
            for event_type in types:
                target.set_handler_fault(self.consumer, event_type, None)

    return ConsumerModel
