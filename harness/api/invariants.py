"""Domain invariants of the work items API, judged from what the API and the database do.

Each function drives the API as one tenant through an :class:`~harness.api.target.HttpClient`,
collects every broken expectation, and raises one :class:`ApiFailure` carrying the requests and
answers. They use the reference API's resource names (``/v1/work-items``), which is the contract
of the ``api`` capability: a target with another API declares the capability unsupported.

- :func:`check_lifecycle`: draft -> active -> done -> archived and nothing else; an archived item
  never changes; the database itself refuses an illegal status written past the API.
- :func:`check_concurrent_updates`: N writers holding the same version, one wins, the others get
  409 and the item shows exactly the winner's write (:func:`check_concurrent_transitions_and_deletes`
  races transitions and deletes alike). With :func:`held_rows` (the target's ``hold_work_item``)
  the writers are held at the item's row lock until all have read it, so the race is run, not
  hoped for.
- :func:`check_timeline`: every mutation leaves exactly one timeline row with its actor and
  correlation id; a refused one leaves none; a deleted draft keeps its history.
- :func:`check_pagination_under_inserts`: walking the list while another writer inserts neither
  skips nor repeats an item that existed when the walk began.
- :func:`check_trace_fields`: the correlation id recorded with a write is the request's
  (``traceparent`` trace id, else ``X-Correlation-Id``, else the one the response names).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from uuid import UUID

import psycopg

from harness.api.target import ApiFailure, ApiTarget, ApiTenant, HttpClient
from harness.lock_queue import queued_behind, until_queued

__all__ = ["check_concurrent_transitions_and_deletes", "check_concurrent_updates", "check_lifecycle", "held_rows",
           "check_pagination_under_inserts", "check_timeline", "check_trace_fields"]

ITEMS = "/v1/work-items"
# (workspace, work item) -> a context holding the item's row lock; it gives a count of the
# connections waiting on that lock (held_rows)
Hold = Callable[[UUID, UUID], AbstractContextManager[Callable[[], int]]]
LEGAL = [("draft", "active"), ("active", "done"), ("done", "archived")]
STATUSES = ("draft", "active", "done", "archived")


class _Log:
    """Requests, answers and problems of one check, for the failure's context."""

    def __init__(self, client: HttpClient, tenant: ApiTenant) -> None:
        self.client, self.tenant = client, tenant
        self.lines: list[str] = []
        self.problems: list[str] = []

    def call(self, method: str, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        response = self.client.request(method, url, headers={**self.tenant.auth(), **(headers or {})}, **kw)
        self.lines.append(f"{method} {url} {kw.get('json', '')} -> {response.status_code} "
                          f"{response.text[:200]}")
        return response

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def create(self, title: str) -> dict[str, Any]:
        response = self.call("POST", ITEMS, json={"title": title})
        if response.status_code != 201:
            raise ApiFailure(f"creating a work item failed with {response.status_code}",
                             [("requests", "\n".join(self.lines))])
        return response.json()

    def raise_if_broken(self, message: str) -> None:
        if self.problems:
            raise ApiFailure(message, [("broken expectations", "\n".join(self.problems)),
                                       ("requests", "\n".join(self.lines[-80:]))])


def check_lifecycle(client: HttpClient, tenant: ApiTenant, target: ApiTarget) -> None:
    log = _Log(client, tenant)
    item = log.create("lifecycle walk")
    url, version = f"{ITEMS}/{item['work_item_id']}", item["version"]
    log.expect(item["status"] == "draft" and version == 1, f"a new item is {item['status']} v{version}")
    for current, _ in [*LEGAL, ("archived", None)]:
        for illegal in (s for s in STATUSES if s != current and (current, s) not in LEGAL):
            refused = log.call("POST", f"{url}/transitions", json={"to": illegal, "version": version})
            log.expect(refused.status_code == 409, f"{current} -> {illegal} answered {refused.status_code}")
            now = log.call("GET", url).json()
            log.expect((now["status"], now["version"]) == (current, version),
                       f"after a refused {current} -> {illegal} the item is {now['status']} v{now['version']}")
        if current == "archived":
            break
        if current != "draft":
            gone = log.call("DELETE", url, params={"version": version})
            log.expect(gone.status_code == 409, f"deleting a {current} item answered {gone.status_code}")
        moved = log.call("POST", f"{url}/transitions", json={"to": dict(LEGAL)[current], "version": version})
        log.expect(moved.status_code == 200, f"{current} -> {dict(LEGAL)[current]} answered {moved.status_code}")
        if moved.status_code == 200:
            log.expect(moved.json()["version"] == version + 1, "a transition did not bump the version by one")
            version = moved.json()["version"]
    edit = log.call("PATCH", url, json={"version": version, "title": "edited after archive"})
    log.expect(edit.status_code == 409, f"editing an archived item answered {edit.status_code}")
    sqlstate = target.force_status(tenant.workspace_id, uuid.UUID(item["work_item_id"]), "draft")
    log.expect(sqlstate is not None, "the database accepted archived -> draft written past the API")
    final = log.call("GET", url).json()
    log.expect((final["status"], final["version"]) == ("archived", version),
               f"the archived item ended as {final['status']} v{final['version']}")
    log.raise_if_broken("the work item lifecycle is not enforced")


def check_concurrent_updates(client: HttpClient, tenant: ApiTenant, writers: int = 8,
                             hold: Hold | None = None) -> None:
    """``writers`` PATCHes of one item at one version (held at its row lock with ``hold``, see
    :func:`_race`): one wins, the rest get 409, the item shows the winner's write."""
    log = _Log(client, tenant)
    item = log.create("contended item")
    url = f"{ITEMS}/{item['work_item_id']}"
    statuses = _race(client, tenant, writers, "PATCH", url, log, _holding(hold, tenant, item),
                     json=lambda n: {"version": item["version"], "title": f"writer {n}"})
    log.lines.append(f"{writers} concurrent PATCH {url} at version {item['version']}: {statuses}")
    winners = [n for n, s in statuses.items() if s == 200]
    log.expect(len(winners) == 1, f"{len(winners)} writers succeeded, exactly one must")
    log.expect(all(s == 409 for n, s in statuses.items() if n not in winners),
               "every losing writer must get 409")
    final = log.call("GET", url).json()
    log.expect(final["version"] == item["version"] + 1, f"the item is at v{final['version']} after one write")
    if len(winners) == 1:
        log.expect(final["title"] == f"writer {winners[0]}", "the item does not show the winner's write")
    updates = [a for a in log.call("GET", f"{url}/activity").json() if a["action"] == "updated"]
    log.expect(len(updates) == len(winners) == 1, f"{len(updates)} update rows in the timeline")
    stale = log.call("PATCH", url, json={"version": item["version"], "title": "late writer"})
    log.expect(stale.status_code == 409 and stale.json()["error"].get("current_version") == final["version"],
               "a stale write is not a 409 naming the current version")
    log.raise_if_broken("concurrent updates to one work item lost or corrupted a write")


def held_rows(target: ApiTarget, connect: Callable[[], psycopg.Connection]) -> Hold:
    """The race checks' ``hold``: the target holds the item's row (``hold_work_item``), and the
    requests queued behind it are counted on a connection of the harness's own (``connect``)."""
    @contextmanager
    def hold(workspace_id: UUID, work_item_id: UUID) -> Iterator[Callable[[], int]]:
        with target.hold_work_item(workspace_id, work_item_id) as holder, connect() as watcher:
            yield lambda: queued_behind(watcher, holder)

    return hold


def _holding(hold: Hold | None, tenant: ApiTenant, item: dict) -> Callable[[], Any] | None:
    return None if hold is None else lambda: hold(tenant.workspace_id, UUID(str(item["work_item_id"])))


def _race(client: HttpClient, tenant: ApiTenant, writers: int, method: str, url: str, log: _Log,
          hold: Callable[[], Any] | None = None, json: Callable[[int], Any] | None = None,
          **kw: Any) -> dict[int, int]:
    """``writers`` requests released together by a barrier: writer -> status code.

    A barrier alone leaves the race to the scheduler: on a loaded machine the requests may reach
    the database one after the other, and a write that checks its version in one statement and
    writes without it in the next wins alone, as a correct one does. With ``hold`` (the target's
    ``hold_work_item`` for the contended item) the row is locked while the requests are sent:
    each request reads what it reads, then waits on that lock to write; once every request is
    waiting (or their number has stopped growing for a second, as when the API's pool holds
    fewer connections than there are writers), the lock is released, and they all write against
    the version they read."""
    barrier, answers = threading.Barrier(writers), {}

    def send(n: int) -> None:
        barrier.wait()
        body = {"json": json(n)} if json is not None else {}
        answers[n] = client.request(method, url, headers=tenant.auth(), **body, **kw).status_code

    threads = [threading.Thread(target=send, args=(n,)) for n in range(writers)]
    with hold() if hold is not None else nullcontext() as waiting:
        for t in threads:
            t.start()
        if waiting is not None:
            queue = until_queued(waiting, writers, limit_s=15.0, steady_s=1.0, poll_s=0.01)
            log.lines.append(f"{queue.last} of {writers} requests were waiting on the row lock when it "
                             f"was released{'' if queue.settled else ' (gave up waiting for more after 15 s)'}")
    for t in threads:
        t.join(60)
    return answers


def check_concurrent_transitions_and_deletes(client: HttpClient, tenant: ApiTenant, writers: int = 8,
                                             hold: Hold | None = None) -> None:
    """Races beyond PATCH: ``writers`` transitions of one version to the same status, and
    ``writers`` deletes of one draft. Exactly one of each wins; the losers are refused (409, or
    404 for a delete that found the item gone); the item moves one version and the timeline
    holds one row per winning change."""
    log = _Log(client, tenant)
    item = log.create("contended transition")
    url = f"{ITEMS}/{item['work_item_id']}"
    moved = _race(client, tenant, writers, "POST", f"{url}/transitions", log, _holding(hold, tenant, item),
                  json=lambda n: {"version": item["version"], "to": "active"})
    log.lines.append(f"{writers} concurrent transitions of {url} v{item['version']} to active: {moved}")
    winners = [n for n, s in moved.items() if s == 200]
    log.expect(len(winners) == 1, f"{len(winners)} transitions succeeded, exactly one must")
    log.expect(all(s == 409 for n, s in moved.items() if n not in winners),
               "every losing transition must get 409")
    final = log.call("GET", url).json()
    log.expect(final["version"] == item["version"] + 1 and final["status"] == "active",
               f"after one transition the item is at v{final['version']}, {final['status']}")
    transitions = [a for a in log.call("GET", f"{url}/activity").json() if a["action"] == "transitioned"]
    log.expect(len(transitions) == 1, f"{len(transitions)} transition rows in the timeline, one expected")

    draft = log.create("contended delete")
    draft_url = f"{ITEMS}/{draft['work_item_id']}"
    deleted = _race(client, tenant, writers, "DELETE", draft_url, log, _holding(hold, tenant, draft),
                    params={"version": draft["version"]})
    log.lines.append(f"{writers} concurrent deletes of {draft_url} v{draft['version']}: {deleted}")
    won = [n for n, s in deleted.items() if s == 204]
    log.expect(len(won) == 1, f"{len(won)} deletes succeeded, exactly one must")
    log.expect(all(s in (404, 409) for n, s in deleted.items() if n not in won),
               "every losing delete must get 404 or 409")
    log.expect(log.call("GET", draft_url).status_code == 404, "the deleted draft can still be read")
    history = log.call("GET", f"{draft_url}/activity")
    actions = [r["action"] for r in history.json()] if history.status_code == 200 else []
    log.expect(actions == ["created", "deleted"], f"the raced draft's timeline is {actions}")
    log.raise_if_broken("concurrent transitions or deletes of one version did not have one winner")


def check_timeline(client: HttpClient, tenant: ApiTenant) -> None:
    log = _Log(client, tenant)
    tag = uuid.uuid4().hex[:8]
    item = log.create("timeline")  # its correlation id comes from the response header below
    url = f"{ITEMS}/{item['work_item_id']}"
    # edits of every kind (the title, then fields a list view may not show), then transitions
    steps = [("PATCH", url, {"version": 1, "title": "timeline v2"}, 200, "updated"),
             ("PATCH", url, {"version": 2, "priority": 4}, 200, "updated"),
             ("PATCH", url, {"version": 3, "description": "why it matters"}, 200, "updated"),
             ("POST", f"{url}/transitions", {"version": 1, "to": "active"}, 409, None),   # stale
             ("POST", f"{url}/transitions", {"version": 4, "to": "done"}, 409, None),     # illegal
             ("POST", f"{url}/transitions", {"version": 4, "to": "active"}, 200, "transitioned"),
             ("POST", f"{url}/transitions", {"version": 5, "to": "done"}, 200, "transitioned"),
             ("POST", f"{url}/transitions", {"version": 6, "to": "archived"}, 200, "transitioned")]
    expected = [("created", None)]
    for n, (method, target_url, body, status, action) in enumerate(steps):
        cid = f"timeline-{tag}-{n}"
        answer = log.call(method, target_url, headers={"X-Correlation-Id": cid}, json=body)
        log.expect(answer.status_code == status, f"step {n} answered {answer.status_code}, not {status}")
        expected.append((action, cid))
    rows = log.call("GET", f"{url}/activity").json()
    recorded = [(r["action"], r["correlation_id"]) for r in rows]
    wanted = [(a, c) for a, c in expected if a is not None]
    log.expect([a for a, _ in recorded] == [a for a, _ in wanted],
               f"timeline actions {[a for a, _ in recorded]} != {[a for a, _ in wanted]}")
    log.expect([c for _, c in recorded[1:]] == [c for _, c in wanted[1:]],
               "timeline correlation ids do not match the requests that made them (or a refused "
               "request left a row)")
    log.expect(all(r["actor_user_id"] == str(tenant.user_id) for r in rows),
               "a timeline row does not name the token's user as its actor")
    log.expect([r["version"] for r in rows] == list(range(1, len(rows) + 1)),
               f"timeline versions {[r['version'] for r in rows]} are not 1..n")
    draft = log.create("deleted draft")
    deleted = log.call("DELETE", f"{ITEMS}/{draft['work_item_id']}", params={"version": 1},
                       headers={"X-Correlation-Id": f"timeline-{tag}-delete"})
    log.expect(deleted.status_code == 204, f"deleting a draft answered {deleted.status_code}")
    history = log.call("GET", f"{ITEMS}/{draft['work_item_id']}/activity")
    actions = [r["action"] for r in history.json()] if history.status_code == 200 else []
    log.expect(actions == ["created", "deleted"], f"a deleted draft's timeline is {actions}")
    log.raise_if_broken("the activity timeline is incomplete or not committed with its change")


def check_pagination_under_inserts(client: HttpClient, tenant: ApiTenant,
                                   insert: Callable[[int], object], page_size: int = 5,
                                   sort: str = "-created_at") -> None:
    """``insert(n)`` adds n items for the tenant (from another connection, as another writer)."""
    log = _Log(client, tenant)
    before = _all_ids(log, sort)
    seen: list[str] = []
    inserted = threading.Event()
    cursor, pages = None, 0
    while pages < 10 * (len(before) // page_size + 2):
        params = {"limit": page_size, "sort": sort, **({"cursor": cursor} if cursor else {})}
        page = log.call("GET", ITEMS, params=params)
        if page.status_code != 200:
            log.expect(False, f"page {pages} answered {page.status_code}")
            break
        seen += [i["work_item_id"] for i in page.json()["items"]]
        cursor, pages = page.json()["next_cursor"], pages + 1
        if cursor is None:
            break
        inserted.clear()
        writer = threading.Thread(target=lambda: (insert(3), inserted.set()))
        writer.start()
        writer.join(30)
        log.expect(inserted.is_set(), "the concurrent writer did not finish")
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    skipped = sorted(set(before) - set(seen))
    log.expect(not repeated, f"{len(repeated)} items came twice: {repeated[:5]}")
    log.expect(not skipped, f"{len(skipped)} items present before the walk never came: {skipped[:5]}")
    log.raise_if_broken(f"paging sort={sort} while rows are inserted skips or repeats items")


def _all_ids(log: _Log, sort: str) -> list[str]:
    ids, cursor = [], None
    for _ in range(1000):
        page = log.call("GET", ITEMS, params={"limit": 100, "sort": sort, **({"cursor": cursor} if cursor else {})})
        ids += [i["work_item_id"] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    return ids


def check_trace_fields(client: HttpClient, tenant: ApiTenant) -> None:
    log = _Log(client, tenant)
    trace_id = uuid.uuid4().hex
    given = f"req-{uuid.uuid4().hex[:12]}"
    canonical = str(uuid.uuid4())   # what most gateways send: a UUID with its dashes, 36 long
    longest = "c" * 127 + "z"       # the longest id the contract accepts
    cases = [("traceparent", {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}, trace_id),
             ("X-Correlation-Id", {"X-Correlation-Id": given}, given),
             ("UUID X-Correlation-Id", {"X-Correlation-Id": canonical}, canonical),
             ("128-character X-Correlation-Id", {"X-Correlation-Id": longest}, longest),
             ("no header", {}, None)]
    made = set()
    for label, headers, expected in cases:
        answer = log.call("POST", ITEMS, headers=headers, json={"title": f"traced by {label}"})
        echoed = answer.headers.get("x-correlation-id")
        want = expected or echoed
        log.expect(bool(want), f"{label}: the response names no correlation id")
        log.expect(expected is None or echoed == expected, f"{label}: response echoes {echoed!r}, not {expected!r}")
        if answer.status_code != 201:
            log.expect(False, f"{label}: create answered {answer.status_code}")
            continue
        rows = log.call("GET", f"{ITEMS}/{answer.json()['work_item_id']}/activity").json()
        log.expect(len(rows) == 1 and rows[0]["correlation_id"] == want,
                   f"{label}: recorded {[r['correlation_id'] for r in rows]}, request carried {want!r}")
        log.expect(all(r["actor_user_id"] == str(tenant.user_id) for r in rows), f"{label}: wrong actor")
        if expected is None:
            made.add(echoed)
    second = log.call("POST", ITEMS, json={"title": "traced twice"}).headers.get("x-correlation-id")
    log.expect(second not in made, "two requests without a header got the same correlation id")
    log.raise_if_broken("a write cannot be followed from its request to its timeline row")
