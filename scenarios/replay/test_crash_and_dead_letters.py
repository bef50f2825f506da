"""S08.replay-safety and S08.dead-letter-escalation: crashes, poison events, replays, exhausted runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from harness.evidence import attach_json
from harness.replay.backoff import ScheduledRetry, backoff_problems, delays
from harness.replay.capability import ALREADY_REPLAYED, APPLIED, DEAD_LETTERED, DUPLICATE
from harness.replay.checks import require_exactly_once
from harness.replay.failures import ReplayFailure, as_json
from harness.replay.profiles import rounds
from harness.replay.races import repeat_race
from harness.replay.streams import envelope

SAFETY, ESCALATION = "S08.replay-safety", "S08.dead-letter-escalation"
POISON = "PoisonPayload: the handler cannot parse this event"
# the automation retry policy's cap: no retry of a failing connector waits longer than an hour
BACKOFF_CAP_S = 3600.0
REPLAYERS = 8


@pytest.mark.evidence(SAFETY, story="F6-E2-S1")
def test_a_crash_before_commit_leaves_no_partial_effect(events, workspace, consumer_stream,
                                                         kill_before_commit):
    """The handler's backend is terminated after its effect is written, before commit: no effect
    and no inbox row survive; redelivery then applies the event exactly once."""
    event = envelope(workspace, consumer_stream[0])
    events.publish_event(event)
    try:
        outcome = events.handle_event("crashy", event, before_commit=kill_before_commit)
    except Exception as exc:  # noqa: BLE001 - the crash we caused
        outcome = f"crashed: {type(exc).__name__}"
    after_crash = {"effects": events.applied_effects(workspace, "crashy"),
                   "inbox": events.inbox_entries(workspace, "crashy")}
    attach_json({"outcome": outcome, "after crash": after_crash}, "crash")
    if outcome == APPLIED or any(after_crash.values()):
        raise ReplayFailure("a killed transaction left a partial effect behind",
                            [("outcome", str(outcome)), ("rows after the crash", as_json(after_crash))])
    redelivered = [events.handle_event("crashy", event) for _ in range(2)]
    require_exactly_once(events, workspace, "crashy", [event["event_id"]], "redelivery after a crash",
                         history=[outcome, *redelivered])


@pytest.mark.evidence(ESCALATION, story="F6-E2-S3")
def test_a_poison_event_lands_in_the_dead_letters_after_the_retry_limit(events, workspace, consumer_stream):
    """A handler that always fails is retried, then the event is dead-lettered with its error
    class, attempt count and last error; nothing took effect."""
    event = envelope(workspace, consumer_stream[2])
    events.publish_event(event)
    events.set_handler_fault("poisoned", event["event_type"], POISON)
    outcome = events.handle_event("poisoned", event)
    letters = events.event_dead_letters(workspace, "poisoned")
    attach_json({"outcome": outcome, "dead letters": letters}, "dead letters")
    ok = (outcome == DEAD_LETTERED and len(letters) == 1 and letters[0].event_id == event["event_id"]
          and letters[0].attempts >= 2 and letters[0].error_class and POISON in letters[0].last_error
          and letters[0].status == "open")
    if not ok:
        raise ReplayFailure("the poison event is not dead-lettered with its error and attempts",
                            [("outcome", outcome), ("dead letters", as_json(letters))])
    require_exactly_once(events, workspace, "poisoned", [], "a dead-lettered event")


@pytest.mark.evidence(SAFETY, story="F6-E2-S2")
def test_a_replayed_dead_letter_applies_once_and_a_second_replay_changes_nothing(
        events, workspace, consumer_stream):
    """After the fix, replaying the dead letter applies the event once and marks it replayed;
    replaying it again, or redelivering the event, changes nothing."""
    event = envelope(workspace, consumer_stream[1])
    events.publish_event(event)
    events.set_handler_fault("fixable", event["event_type"], POISON)
    history = [events.handle_event("fixable", event)]
    events.set_handler_fault("fixable", event["event_type"], None)
    history += [events.replay_event_dead_letter(workspace, "fixable", event["event_id"]) for _ in range(2)]
    history.append(events.handle_event("fixable", event))
    letters = events.event_dead_letters(workspace, "fixable")
    attach_json({"outcomes": history, "dead letters": letters}, "replay")
    require_exactly_once(events, workspace, "fixable", [event["event_id"]], "replay of a dead letter",
                         history=history)
    if history != [DEAD_LETTERED, APPLIED, ALREADY_REPLAYED, DUPLICATE] or \
            [d.status for d in letters] != ["replayed"]:
        raise ReplayFailure("the dead letter was not replayed exactly once and marked replayed",
                            [("outcomes (deliver, replay, replay, redeliver)", as_json(history)),
                             ("dead letters", as_json(letters))])


@pytest.mark.evidence(SAFETY, story="F6-E2-S2")
def test_racing_replays_of_one_dead_letter_apply_it_once_and_the_rest_see_it_replayed(
        events, workspace, consumer_stream):
    """Eight replays of one fixed dead letter are released together, round after round: one
    applies the event, every other answers ``already_replayed`` (the replay that won closed
    the letter), never ``duplicate`` (which would say the event took effect while its letter
    was still open, a state no serial order of the replays passes through); one effect per
    event and every letter replayed. A replay that reads the letter without holding it lets
    the losers see it open."""
    n_rounds = rounds(ci=6, thorough=25)

    def setup(n: int) -> dict:
        event = envelope(workspace, consumer_stream[n % len(consumer_stream)])
        events.publish_event(event)
        events.set_handler_fault("replay-race", event["event_type"], POISON)
        events.handle_event("replay-race", event)
        events.set_handler_fault("replay-race", event["event_type"], None)
        return event

    results = repeat_race(n_rounds, REPLAYERS, setup, lambda event, i: events.replay_event_dead_letter(
        workspace, "replay-race", event["event_id"]))
    summary = [{"event_id": e["event_id"], "outcomes": dict(Counter(map(str, r.outcomes)))}
               for e, r in results]
    letters = events.event_dead_letters(workspace, "replay-race")
    attach_json({"rounds": n_rounds, "replayers": REPLAYERS, "rounds_detail": summary,
                 "dead letters": letters}, "concurrent replays")
    bad = [s for s in summary if s["outcomes"] != {APPLIED: 1, ALREADY_REPLAYED: REPLAYERS - 1}]
    require_exactly_once(events, workspace, "replay-race", [e["event_id"] for e, _ in results],
                         f"{REPLAYERS} concurrent replays x {n_rounds} rounds", history=bad)
    if bad or {d.status for d in letters} != {"replayed"}:
        raise ReplayFailure(f"{len(bad)} of {n_rounds} rounds of concurrent replays did not end in "
                            "one applied replay and the rest already replayed",
                            [("rounds", as_json(bad)), ("dead letters", as_json(letters))])


@pytest.mark.evidence(SAFETY, story="F6-E2-S2")
def test_a_replay_that_fails_again_is_dead_lettered_again_and_applies_once_after_the_fix(
        events, workspace, consumer_stream):
    """The second cycle: a dead letter replayed before the fix fails again and is dead-lettered
    again (still one letter, open, its attempts counted); after the fix one replay applies the
    event once and marks it replayed; a further replay or redelivery changes nothing."""
    event = envelope(workspace, consumer_stream[2])
    events.publish_event(event)
    events.set_handler_fault("second-cycle", event["event_type"], POISON)
    history = [events.handle_event("second-cycle", event)]
    first = events.event_dead_letters(workspace, "second-cycle")
    history.append(events.replay_event_dead_letter(workspace, "second-cycle", event["event_id"]))
    after_failed_replay = events.event_dead_letters(workspace, "second-cycle")
    events.set_handler_fault("second-cycle", event["event_type"], None)
    history += [events.replay_event_dead_letter(workspace, "second-cycle", event["event_id"]) for _ in range(2)]
    history.append(events.handle_event("second-cycle", event))
    letters = events.event_dead_letters(workspace, "second-cycle")
    attach_json({"outcomes": history, "dead letters after the failed replay": after_failed_replay,
                 "dead letters": letters}, "second cycle")
    require_exactly_once(events, workspace, "second-cycle", [event["event_id"]],
                         "a dead letter replayed before and after the fix", history=history)
    problems = []
    if history != [DEAD_LETTERED, DEAD_LETTERED, APPLIED, ALREADY_REPLAYED, DUPLICATE]:
        problems.append(f"outcomes {history}")
    if [d.status for d in after_failed_replay] != ["open"]:
        problems.append(f"after the failed replay the letters are {[d.status for d in after_failed_replay]}, "
                        "not one open letter")
    elif not first or after_failed_replay[0].attempts <= first[0].attempts:
        problems.append("the failed replay's attempt was not counted on the letter "
                        f"({[d.attempts for d in first]} -> {after_failed_replay[0].attempts})")
    if [d.status for d in letters] != ["replayed"]:
        problems.append(f"after the fix the letters are {[d.status for d in letters]}, not one replayed")
    if problems:
        raise ReplayFailure("a dead letter replayed while still failing was not dead-lettered again "
                            "and replayed once after the fix",
                            [("problems", "\n".join(problems)),
                             ("outcomes (deliver, replay, fix, replay, replay, redeliver)", as_json(history)),
                             ("dead letters after the failed replay", as_json(after_failed_replay)),
                             ("dead letters", as_json(letters))])


@pytest.mark.evidence(SAFETY, story="F6-E2-S2")
def test_a_dead_letter_replayed_after_the_event_was_redelivered_changes_nothing(
        events, workspace, consumer_stream):
    """The other order: the event is dead-lettered, the handler fixed, the producer redelivers
    the event (applied), and only then is the dead letter replayed: the replay is a duplicate
    that closes the letter, and the event took effect once."""
    event = envelope(workspace, consumer_stream[3])
    events.publish_event(event)
    events.set_handler_fault("redelivered-first", event["event_type"], POISON)
    history = [events.handle_event("redelivered-first", event)]
    events.set_handler_fault("redelivered-first", event["event_type"], None)
    history.append(events.handle_event("redelivered-first", event))
    history.append(events.replay_event_dead_letter(workspace, "redelivered-first", event["event_id"]))
    letters = events.event_dead_letters(workspace, "redelivered-first")
    attach_json({"outcomes": history, "dead letters": letters}, "deliver, fix, redeliver, replay")
    require_exactly_once(events, workspace, "redelivered-first", [event["event_id"]],
                         "a dead letter replayed after the event was redelivered", history=history)
    if history != [DEAD_LETTERED, APPLIED, DUPLICATE] or [d.status for d in letters] != ["replayed"]:
        raise ReplayFailure("a dead letter replayed after a redelivery was not a duplicate that "
                            "closes the letter",
                            [("outcomes (deliver, fix, redeliver, replay)", as_json(history)),
                             ("dead letters", as_json(letters))])


@pytest.mark.evidence(ESCALATION, story="F6-E2-S3")
def test_an_automation_run_that_exhausts_its_retries_is_dead_lettered_and_escalated(automation, workspace):
    """A run whose work always fails backs off between attempts (each retry scheduled later
    than the attempt that failed, no delay shorter than the one before, none above the cap),
    ends dead-lettered after its last attempt with one escalation row, and further attempts
    change nothing."""
    automation.set_automation_fault("crm-sync", "ConnectorTimeout: CRM did not answer")
    run_id = automation.start_automation_run(workspace, "crm-sync", "crm-sync-2026-11-22")
    views, returned = [], []
    for _ in range(6):
        views.append(automation.attempt_automation_run(workspace, run_id))
        returned.append(datetime.now(UTC))
    escalations = automation.escalations(workspace, run_id)
    scheduled = [ScheduledRetry(at, v.next_attempt_at)
                 for at, v in zip(returned, views, strict=True) if v.status == "retrying"]
    attach_json({"attempts": views, "escalations": escalations,
                 "delays_s": delays(scheduled), "cap_s": BACKOFF_CAP_S}, "automation run")
    final = views[-1]
    retrying = [v for v in views if v.status == "retrying"]
    problems = []
    if final.status != "dead_lettered" or final.attempts != final.max_attempts:
        problems.append(f"final state {final.status} after {final.attempts}/{final.max_attempts} attempts")
    if len(escalations) != 1:
        problems.append(f"{len(escalations)} escalation rows, expected 1")
    times = [v.next_attempt_at for v in retrying]
    if None in times or len(retrying) != final.max_attempts - 1:
        problems.append("a retrying run has no next attempt time scheduled")
    else:
        problems += backoff_problems(scheduled, BACKOFF_CAP_S)
    if len({v for v in views if v.status == "dead_lettered"}) != 1:
        problems.append("attempts after the terminal state changed the run")
    if problems:
        raise ReplayFailure("the exhausted run was not dead-lettered and escalated exactly once",
                            [("problems", "\n".join(problems)), ("attempts", as_json(views))])
