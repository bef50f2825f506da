"""S08.idempotency: duplicates in a row, N duplicates racing, and many consumers draining a stream."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter

import pytest

from harness.evidence import attach_json, record_metric
from harness.replay.capability import APPLIED, DUPLICATE
from harness.replay.checks import require_exactly_once
from harness.replay.failures import ReplayFailure, as_json
from harness.replay.profiles import rounds
from harness.replay.races import repeat_race
from harness.replay.streams import envelope

ITEM, STORY = "S08.idempotency", "F6-E2-S2"
CONTENDERS = 32


@pytest.mark.evidence(ITEM, story=STORY)
def test_an_event_delivered_twice_in_a_row_takes_effect_once(events, workspace, consumer_stream):
    """The second delivery of every event is a duplicate: one effect and one inbox row each."""
    published = [envelope(workspace, t) for t in consumer_stream]
    outcomes = []
    for event in published:
        events.publish_event(event)
        outcomes.append([events.handle_event("billing-sync", event) for _ in range(2)])
    require_exactly_once(events, workspace, "billing-sync", [e["event_id"] for e in published],
                         "delivered twice in a row", history=outcomes)
    assert all(o == [APPLIED, DUPLICATE] for o in outcomes), as_json(outcomes)


@pytest.mark.evidence(ITEM, story=STORY)
def test_an_event_id_reused_by_another_workspace_is_a_new_event_there(events, workspace, new_workspace,
                                                                      consumer_stream):
    """Workspace B publishes and delivers an event under the event id workspace A already used:
    it is B's own event (published, applied in B, not answered as a duplicate), and A's effect
    stays one. A dedupe key unique across all tenants would refuse B's event or swallow it as
    A's duplicate, and so tell B that some other tenant used that id."""
    other = new_workspace()
    first = envelope(workspace, consumer_stream[0])
    events.publish_event(first)
    outcomes: list[str] = [events.handle_event("tenant-keys", first)]
    second = {**envelope(other, consumer_stream[0]), "event_id": first["event_id"]}
    try:
        events.publish_event(second)
        outcomes.append(events.handle_event("tenant-keys", second))
    except Exception as exc:  # noqa: BLE001 - refused outright: the id is treated as global
        outcomes.append(f"refused: {type(exc).__name__}: {str(exc)[:200]}")
    attach_json({"event id": first["event_id"], "outcomes (A, then B)": outcomes}, "one event id, two workspaces")
    if outcomes != [APPLIED, APPLIED]:
        raise ReplayFailure("an event id crossed workspaces: B's event was not its own",
                            [("outcomes (A delivers, B delivers)", as_json(outcomes))])
    require_exactly_once(events, workspace, "tenant-keys", [first["event_id"]], "workspace A", history=outcomes)
    require_exactly_once(events, other, "tenant-keys", [first["event_id"]],
                         "workspace B reusing A's event id", history=outcomes)


@pytest.mark.slow
@pytest.mark.evidence(ITEM, story=STORY)
def test_n_concurrent_deliveries_of_one_event_take_effect_once(events, workspace, consumer_stream):
    """32 connections released together by a barrier deliver the same event, round after round:
    exactly one applies it, every other sees a duplicate, one effect and one inbox row."""
    n_rounds = rounds(ci=10, thorough=40)

    def setup(n: int) -> dict:
        event = envelope(workspace, consumer_stream[n % len(consumer_stream)])
        events.publish_event(event)
        return event

    results = repeat_race(n_rounds, CONTENDERS, setup,
                          lambda event, i: events.handle_event("race", event))
    summary = [{"event_id": e["event_id"], "outcomes": dict(Counter(map(str, r.outcomes)))}
               for e, r in results]
    attach_json({"rounds": n_rounds, "contenders": CONTENDERS, "rounds_detail": summary},
                "race rounds")
    bad = [s for s in summary if s["outcomes"] != {APPLIED: 1, DUPLICATE: CONTENDERS - 1}]
    require_exactly_once(events, workspace, "race", [e["event_id"] for e, _ in results],
                         f"{CONTENDERS} concurrent deliveries x {n_rounds} rounds", history=bad)
    if bad:
        raise ReplayFailure(f"{len(bad)} of {n_rounds} rounds did not end in one applied delivery",
                            [("rounds", as_json(bad))])


@pytest.mark.slow
@pytest.mark.evidence(ITEM, story=STORY)
def test_concurrent_starts_with_one_idempotency_key_share_one_run(automation, workspace):
    """16 starts of an automation run with the same idempotency key, released together, return
    one run id and leave one run row, round after round."""
    n_rounds, contenders = rounds(ci=5, thorough=20), 16
    results = repeat_race(n_rounds, contenders, lambda n: f"digest-{n}",
                          lambda key, i: automation.start_automation_run(workspace, "digest", key))
    runs = Counter(r.idempotency_key for r in automation.automation_runs(workspace))
    bad = {key: {"run ids": sorted(set(map(str, r.outcomes))), "rows": runs[key]}
           for key, r in results if len(set(map(str, r.outcomes))) != 1 or runs[key] != 1}
    attach_json({"rounds": n_rounds, "contenders": contenders, "bad": bad}, "race rounds")
    if bad:
        raise ReplayFailure(f"{len(bad)} idempotency key(s) started more than one run",
                            [("keys", as_json(bad))])


def _drain(events, consumers: int, stream: list[dict]) -> float:
    """Events per second for ``consumers`` threads taking deliveries from one queue."""
    deliveries: queue.Queue = queue.Queue()
    for event in stream:
        deliveries.put(event)
    errors: list[BaseException] = []

    def consume() -> None:
        while True:
            try:
                event = deliveries.get_nowait()
            except queue.Empty:
                return
            try:
                events.handle_event("drain", event)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=consume) for _ in range(consumers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise ReplayFailure(f"{len(errors)} deliveries failed", [("errors", "\n".join(map(repr, errors[:20])))])
    return len(stream) / elapsed


@pytest.mark.slow
@pytest.mark.evidence(ITEM, story=STORY)
@pytest.mark.parametrize("consumers", [1, 8])
def test_consumers_drain_a_stream_with_duplicates_once(events, new_workspace, consumer_stream, consumers):
    """1 or 8 consumers drain a stream where every fifth event comes twice: each distinct event
    takes effect once. Records the consumer's throughput (deliveries per second)."""
    workspace = new_workspace()
    distinct = [envelope(workspace, consumer_stream[i % len(consumer_stream)]) for i in range(rounds(150, 1000))]
    for event in distinct:
        events.publish_event(event)
    # a duplicate right behind its original: with 8 consumers the two are handled at once
    stream = [e for i, event in enumerate(distinct) for e in ([event, event] if i % 5 == 0 else [event])]
    rate = _drain(events, consumers, stream)
    record_metric(f"consumer_throughput_{consumers}", rate, "events/s")
    attach_json({"consumers": consumers, "deliveries": len(stream), "distinct": len(distinct),
                 "events_per_second": round(rate, 1)}, "throughput")
    require_exactly_once(events, workspace, "drain", [e["event_id"] for e in distinct],
                         f"{consumers} consumer(s) draining a stream with duplicates")
