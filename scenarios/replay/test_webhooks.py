"""S09: signed inbound webhooks (rejected or deduplicated) and logged, bounded outbound replays."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.evidence import attach_json
from harness.replay.capability import ReplayRefused
from harness.replay.failures import ReplayFailure, as_json, duplicates_of
from harness.replay.mirror import latest_states, require_no_drift
from harness.replay.profiles import replay_settings, rounds
from harness.replay.races import race, repeat_race
from harness.replay.signing import forgeries, sign
from scenarios.replay.data import FIXTURES

PROVIDER, SECRET = "billing-provider", "whsec_replay_suite_signing_key_4f1d"


def _body(name: str) -> bytes:
    return (FIXTURES / "webhooks" / name).read_bytes()


@pytest.mark.evidence("S09.webhook-signature-validation", story="F7-E1-S2")
def test_forged_stale_or_unsigned_webhooks_are_rejected_and_store_nothing(webhooks, workspace):
    """Missing, wrong, truncated or tampered signatures and stale or future timestamps are each
    rejected and store nothing; the same body correctly signed is accepted (the control)."""
    webhooks.register_webhook_secret(workspace, PROVIDER, SECRET)
    body = _body("invoice_paid.json")
    accepted = {f.name: webhooks.receive_webhook(workspace, PROVIDER, f.headers, f.body)
                for f in forgeries(SECRET, body)}
    stored_after_forgeries = webhooks.stored_webhooks(workspace, PROVIDER)
    control = webhooks.receive_webhook(workspace, PROVIDER, sign(SECRET, body), body)
    attach_json({"forgeries": accepted, "control": control}, "outcomes")
    let_in = {name: o for name, o in accepted.items() if o.status != "rejected"}
    if let_in or stored_after_forgeries or control.status != "accepted":
        raise ReplayFailure(f"{len(let_in)} forged request(s) accepted" if let_in else
                            "the correctly signed control was not accepted alone",
                            [("accepted forgeries", as_json(let_in)),
                             ("stored after forgeries", as_json(stored_after_forgeries)),
                             ("control", as_json(control))])


@pytest.mark.evidence("S09.duplicate-webhook-dedupe", story="F7-E1-S3")
def test_a_webhook_delivered_twice_in_a_row_is_stored_and_applied_once(webhooks, billing, workspace):
    """The provider retries a delivered webhook: the second is a duplicate, one row is stored,
    and the subscription mirror holds the event's state."""
    webhooks.register_webhook_secret(workspace, PROVIDER, SECRET)
    body = _body("subscription_updated.json")
    outcomes = [webhooks.receive_webhook(workspace, PROVIDER, sign(SECRET, body), body).status
                for _ in range(3)]
    stored = webhooks.stored_webhooks(workspace, PROVIDER)
    mirror = billing.subscription_mirror(workspace)
    data = json.loads(body)["data"]
    attach_json({"outcomes": outcomes, "stored": stored, "mirror": mirror}, "deliveries")
    held = mirror.get(data["subscription_id"])
    if outcomes != ["accepted", "duplicate", "duplicate"] or stored != [json.loads(body)["id"]] \
            or held is None or held.sequence != data["sequence"]:
        raise ReplayFailure("a redelivered webhook was not deduplicated",
                            [("outcomes", as_json(outcomes)), ("stored", as_json(stored)),
                             ("mirror", as_json(mirror))])


@pytest.mark.slow
@pytest.mark.evidence("S09.duplicate-webhook-dedupe", story="F7-E1-S3")
def test_concurrent_redeliveries_of_a_webhook_store_it_once(webhooks, workspace):
    """16 deliveries of the same provider event, released together, round after round: one is
    accepted, the rest are duplicates, and one row is stored."""
    webhooks.register_webhook_secret(workspace, PROVIDER, SECRET)
    template = json.loads(_body("invoice_paid.json"))
    n_rounds, contenders = rounds(ci=5, thorough=20), 16

    def setup(n: int) -> bytes:
        return json.dumps({**template, "id": f"{template['id']}-{n}"}).encode()

    results = repeat_race(n_rounds, contenders, setup,
                          lambda body, i: webhooks.receive_webhook(workspace, PROVIDER, sign(SECRET, body), body).status)
    stored = webhooks.stored_webhooks(workspace, PROVIDER)
    bad = [{"round": r.round_no, "outcomes": r.outcomes} for _, r in results
           if sorted(map(str, r.outcomes)) != ["accepted"] + ["duplicate"] * (contenders - 1)]
    attach_json({"rounds": n_rounds, "contenders": contenders, "bad rounds": bad}, "race rounds")
    if bad or duplicates_of(stored) or len(stored) != n_rounds:
        raise ReplayFailure("concurrent redeliveries were stored or applied more than once",
                            [("bad rounds", as_json(bad)), ("stored", as_json(sorted(stored)))])


@st.composite
def _redeliveries(draw, stream: list[dict]) -> list[dict]:
    """The stream shuffled, with some webhooks redelivered."""
    extra = draw(st.lists(st.sampled_from(stream), max_size=len(stream)))
    return draw(st.permutations(stream + extra))


def _as_webhook(event: dict) -> bytes:
    """A provider billing event as the provider's webhook carries it."""
    data = {k: v for k, v in event.items() if k != "provider_event_id"}
    return json.dumps({"id": event["provider_event_id"], "type": "subscription.updated",
                       "data": data}).encode()


def _receive_all(webhooks, workspace, order: list[dict]) -> list[str]:
    return [webhooks.receive_webhook(workspace, PROVIDER, sign(SECRET, body), body).status
            for body in map(_as_webhook, order)]


def _require_once_and_converged(webhooks, billing, workspace, stream: list[dict], order: list[dict],
                                outcomes: list[str], what: str) -> None:
    stored = webhooks.stored_webhooks(workspace, PROVIDER)
    ids = [e["provider_event_id"] for e in order]
    first = {i: ids.index(i) for i in ids}
    expected = ["accepted" if first[i] == n else "duplicate" for n, i in enumerate(ids)]
    twice, missing = duplicates_of(stored), sorted(set(ids) - set(map(str, stored)))
    if outcomes != expected or twice or missing:
        raise ReplayFailure(f"{what}: the ingress did not store each provider event exactly once",
                            [("outcomes (delivered id -> answer)", as_json(list(zip(ids, outcomes, strict=False)))),
                             ("expected", as_json(expected)), ("stored twice", as_json(twice)),
                             ("missing", as_json(missing))])
    require_no_drift(billing.subscription_mirror(workspace), latest_states(stream), what, history=ids)


@pytest.mark.evidence("S09.duplicate-webhook-dedupe", story="F7-E1-S3")
def test_every_webhook_redelivered_in_reverse_order_after_the_stream_is_stored_and_applied_once(
        webhooks, billing, workspace, billing_stream):
    """The second entry point and a second order: the provider's stream arrives through the
    signed webhook ingress in its own order, then the provider redelivers every webhook, newest
    first. Each redelivery is a duplicate, each event is stored once, and the mirror ends at the
    provider's latest state (an ingress that re-applies a redelivered, older event would roll a
    subscription back)."""
    webhooks.register_webhook_secret(workspace, PROVIDER, SECRET)
    order = list(billing_stream) + list(reversed(billing_stream))
    outcomes = _receive_all(webhooks, workspace, order)
    attach_json({"order": [e["provider_event_id"] for e in order], "outcomes": outcomes}, "deliveries")
    _require_once_and_converged(webhooks, billing, workspace, billing_stream, order, outcomes,
                                "stream, then every webhook redelivered newest first")


@pytest.mark.slow
@pytest.mark.evidence("S09.billing-reconciliation", story="F7-E1-S1")
def test_shuffled_and_duplicated_webhooks_through_the_ingress_converge_to_the_latest_state(
        webhooks, billing, new_workspace, billing_stream):
    """What the guarded helper is held to, through the webhook ingress: any permutation of the
    provider's stream, with redeliveries, stores each event once and leaves the mirror equal to
    the provider's latest state. A failure carries the shrunk arrival order."""
    tried = []

    @replay_settings()
    @given(order=_redeliveries(billing_stream))
    def converges(order: list[dict]) -> None:
        workspace = new_workspace()
        webhooks.register_webhook_secret(workspace, PROVIDER, SECRET)
        outcomes = _receive_all(webhooks, workspace, order)
        tried.append(len(order))
        _require_once_and_converged(webhooks, billing, workspace, billing_stream, order, outcomes,
                                    "shuffled webhooks through the ingress")

    converges()
    attach_json({"examples": len(tried), "deliveries per example": tried}, "examples")


class _Endpoint(BaseHTTPRequestHandler):
    """A subscriber endpoint on loopback that fails its first request, then succeeds."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = self.server.seen  # type: ignore[attr-defined]
        seen.append(self.headers.get("Idempotency-Key"))
        self.send_response(500 if len(seen) == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    server.daemon_threads, server.block_on_close = True, False
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.evidence("S09.delivery-replay-controls", story="F6-E3-S2")
def test_outbound_attempts_are_logged_and_a_replay_keeps_the_key_and_is_bounded(webhooks, workspace, endpoint):
    """A failed delivery is logged with its status code, latency and error; each replay is a new
    logged attempt carrying the same idempotency key; past the bound a replay is refused and
    neither logged nor sent."""
    url, seen = endpoint
    delivery = webhooks.create_delivery(workspace, url, "6f1c1f0e-3a43-4b1e-9a55-0d2c4c1f7a10", "dlv-key-1")
    first = webhooks.deliver(workspace, delivery)
    replays, refused = [], None
    for _ in range(20):
        try:
            replays.append(webhooks.replay_delivery(workspace, delivery))
        except ReplayRefused as exc:
            refused = str(exc)
            break
    logged = webhooks.delivery_attempts(workspace, delivery)
    attach_json({"attempts": logged, "endpoint saw keys": seen, "refused": refused}, "attempts")
    problems = []
    if first.status_code != 500 or not first.error or first.latency_ms <= 0:
        problems.append(f"the failed first attempt is not logged with its response: {first}")
    if not replays or replays[0].status_code != 200 or not all(r.replay for r in replays):
        problems.append("replays are not logged as replay attempts with their response")
    if {a.idempotency_key for a in logged} != {"dlv-key-1"} or set(seen) != {"dlv-key-1"}:
        problems.append(f"the idempotency key changed: logged {[a.idempotency_key for a in logged]}, sent {seen}")
    if refused is None or len(logged) != 1 + len(replays) or len(seen) != len(logged):
        problems.append(f"replays are not bounded: {len(logged)} logged, {len(seen)} sent, refused={refused}")
    if [a.attempt_no for a in logged] != list(range(1, len(logged) + 1)):
        problems.append("attempt numbers are not consecutive")
    if problems:
        raise ReplayFailure("outbound delivery attempts are not logged or bounded",
                            [("problems", "\n".join(problems)), ("attempts", as_json(logged))])


@pytest.mark.evidence("S09.delivery-replay-controls", story="F6-E3-S2")
def test_concurrent_replays_cannot_overrun_the_delivery_bound(webhooks, workspace, endpoint):
    """The bound is learnt one replay at a time on one delivery (replays until refused); on a
    second delivery, twice that many replays released together log and send exactly as many
    attempts as the bound, numbered 1..n, each with the delivery's key; the rest are refused."""
    url, seen = endpoint
    learnt = webhooks.create_delivery(workspace, url, "0b8e2c1d-5f0a-4c3e-8d7b-6a5f4e3d2c1b", "dlv-bound-1")
    webhooks.deliver(workspace, learnt)
    for _ in range(50):
        try:
            webhooks.replay_delivery(workspace, learnt)
        except ReplayRefused:
            break
    bound = len(webhooks.delivery_attempts(workspace, learnt))
    raced = webhooks.create_delivery(workspace, url, "1c9f3d2e-6a1b-4d4f-9e8c-7b6a5f4e3d2c", "dlv-bound-2")
    webhooks.deliver(workspace, raced)
    outcomes = race(2 * bound, lambda i: webhooks.replay_delivery(workspace, raced))
    logged = webhooks.delivery_attempts(workspace, raced)
    sent = [k for k in seen if k == "dlv-bound-2"]
    raised = [repr(o) for o in outcomes if isinstance(o, BaseException) and not isinstance(o, ReplayRefused)]
    attach_json({"bound": bound, "replays released together": 2 * bound, "outcomes": [repr(o) for o in outcomes],
                 "attempts": logged, "sent": len(sent)}, "concurrent replays")
    problems = []
    if len(logged) != bound or len(sent) != bound:
        problems.append(f"{len(logged)} attempts logged and {len(sent)} sent, the bound is {bound}")
    if [a.attempt_no for a in logged] != list(range(1, len(logged) + 1)):
        problems.append(f"attempt numbers {[a.attempt_no for a in logged]} are not 1..n")
    if raised:
        problems.append(f"{len(raised)} replay(s) raised instead of answering: {raised[0]}")
    if problems:
        raise ReplayFailure("concurrent replays overran the delivery's bound",
                            [("problems", "\n".join(problems)), ("attempts", as_json(logged)),
                             ("outcomes", as_json([repr(o) for o in outcomes]))])
