"""The list endpoint's short path (reference_impl/api/list_path.py) against the published route.

A request the short path takes is compared with the same request sent the long way: a bearer
token followed by a space is the same token to the published route (FastAPI strips it), and the
short path leaves any token it does not match exactly to the route.
"""

from __future__ import annotations

import warnings

import pytest

from reference_impl.api import list_path
from reference_impl.api.app import create_app
from reference_impl.api.list_path import ListPath
from reference_impl.api.routers import load
from reference_impl.work_items import queries

pytestmark = pytest.mark.slow  # a fresh database per test

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def short_path_calls(monkeypatch):
    """The short path's database calls, and whether each found the token live."""
    calls: list[bool] = []
    real = list_path.fetch_page

    def counted(*args):
        rows = real(*args)
        calls.append(rows is not None)
        return rows

    monkeypatch.setattr(list_path, "fetch_page", counted)
    return calls


def _answer(response) -> tuple:
    return response.status_code, response.content, sorted(response.headers.items())


def test_the_short_path_answers_what_the_published_route_answers(target_adapter, short_path_calls):
    tenant = target_adapter.create_api_tenant("pages", items=12)
    token = tenant["token"]
    with TestClient(target_adapter.asgi_app(), raise_server_exceptions=False) as client:
        def both(query: str, expect_short: bool) -> None:
            before = len(short_path_calls)
            short = client.get(f"/v1/work-items{query}", headers={
                "Authorization": f"Bearer {token}", "X-Correlation-Id": "same"})
            taken = len(short_path_calls) - before
            published = client.get(f"/v1/work-items{query}", headers={
                "Authorization": f"Bearer {token} ", "X-Correlation-Id": "same"})
            assert len(short_path_calls) - before == taken, "the published route took the short path"
            assert (taken == 1) is expect_short, (query, taken)
            assert _answer(short) == _answer(published), query

        first = client.get("/v1/work-items?limit=5", headers={"Authorization": f"Bearer {token}"}).json()
        by_priority = client.get("/v1/work-items?limit=4&sort=-priority",
                                 headers={"Authorization": f"Bearer {token}"}).json()
        assert len(first["items"]) == 5 and first["next_cursor"] and by_priority["next_cursor"]
        for query in ("", "?limit=50", "?limit=100", "?limit=1", "?status=draft", "?status=active",
                      "?sort=priority&limit=3", "?sort=created_at", "?sort=-priority&limit=7",
                      f"?limit=5&cursor={first['next_cursor']}",
                      f"?limit=4&sort=-priority&cursor={by_priority['next_cursor']}"):
            both(query, expect_short=True)
        for query in ("?limit=101", "?limit=0", "?limit=050", "?limit=x", "?status=", "?sort=up",
                      "?offset=5", "?limit=5&limit=6", "?cursor=not-a-cursor",
                      f"?sort=priority&cursor={first['next_cursor']}"):
            both(query, expect_short=False)
        assert all(short_path_calls)


def test_a_token_the_short_path_finds_dead_gets_the_published_answer(target_adapter, short_path_calls):
    tenant = target_adapter.create_api_tenant("owner", items=2)
    other = target_adapter.create_api_tenant("other", items=2)
    forged = "wit_" + other["workspace_id"].hex + tenant["token"][len("wit_") + 32:]
    with TestClient(target_adapter.asgi_app(), raise_server_exceptions=False) as client:
        answer = client.get("/v1/work-items", headers={"Authorization": f"Bearer {forged}",
                                                       "X-Correlation-Id": "forged"})
        missing = client.get("/v1/work-items", headers={"X-Correlation-Id": "none"})
    assert short_path_calls == [False]   # looked up once, found dead, handed to the route
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"] == {"code": "unauthorized", "correlation_id": "forged",
                                      "message": "the token is unknown, expired or revoked"}
    assert missing.status_code == 401 and missing.json()["error"]["correlation_id"] == "none"


def test_the_binding_ends_with_the_request(target_adapter, short_path_calls):
    """The pipelined binding is transaction-local: the pool's one connection, right after a
    list request on it, is bound to no workspace and no actor, and is not in autocommit."""
    tenant = target_adapter.create_api_tenant("bound", items=3)
    from dataclasses import replace

    app = create_app(replace(target_adapter.api_database(), min_size=1, max_size=1))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/work-items", headers={"Authorization": f"Bearer {tenant['token']}"})
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        assert short_path_calls == [True]
        with app.state.pool.get().connection() as conn:
            assert not conn.autocommit
            left = conn.execute("select current_setting('app.workspace_id', true), "
                                "current_setting('app.actor_id', true), count(*) from work_items").fetchone()
    assert (left[0] or "", left[1] or "", left[2]) == ("", "", 0)


def test_a_variant_seam_keeps_every_request_on_the_published_route(target_adapter):
    database = target_adapter.api_database()

    def short(app) -> bool:
        return any(m.cls is ListPath for m in app.user_middleware)

    apps = [create_app(database), create_app(database, authenticate=queries.authenticate),
            create_app(database, routers=load())]
    try:
        assert [short(app) for app in apps] == [True, False, False]
    finally:
        for app in apps:
            app.state.pool.close()


@pytest.mark.parametrize("sort", sorted(queries.SORTS))
def test_pages_walked_by_cursor_are_the_workspaces_rows_in_order(target_adapter, owner_conn,
                                                                 short_path_calls, sort):
    """Every page the short path serves, followed cursor by cursor, against plain SQL written
    apart from the list query: each row once, in the sort's order (ties on created_at broken by
    work_item_id), a cursor on every page but the last, and each item as the row holds it."""
    tenant = target_adapter.create_api_tenant("walk", items=11)   # one transaction: one created_at
    target_adapter.seed_work_items(tenant["workspace_id"], tenant["user_id"], 6)
    lead, descending = queries.SORTS[sort]
    direction = " desc" if descending else ""
    order = ", ".join(f"{key}{direction}" for key in ([lead] if lead else []) + ["created_at", "work_item_id"])
    truth = owner_conn.execute(f"select work_item_id::text, title, priority, version from work_items "
                               f"where workspace_id = %s order by {order}",
                               (tenant["workspace_id"],)).fetchall()
    with TestClient(target_adapter.asgi_app(), raise_server_exceptions=False) as client:
        for limit in (1, 4, 17, 50):
            seen, pages, cursor = [], 0, None
            while True:
                query = f"?sort={sort}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
                page = client.get(f"/v1/work-items{query}",
                                  headers={"Authorization": f"Bearer {tenant['token']}"}).json()
                seen += [(i["work_item_id"], i["title"], i["priority"], i["version"]) for i in page["items"]]
                pages, cursor = pages + 1, page["next_cursor"]
                if cursor is None:
                    break
                assert len(page["items"]) == limit, (limit, pages)
            assert seen == [tuple(row) for row in truth], (sort, limit)
            assert pages == -(-len(truth) // limit)   # a full last page carries no cursor
    assert short_path_calls and all(short_path_calls)
