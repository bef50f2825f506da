"""Fast tests of the API suite's plain parts and the reference API's parsing, no database."""

from __future__ import annotations

import uuid

import pytest

from harness.api import ApiTenant
from harness.api.bola import bola_probes
from harness.api.plans import sequential_scans
from reference_impl.api.envelope import correlation_from_headers
from reference_impl.work_items.queries import SORTS, Cursor, list_sql, page_json_sql, page_json_text

OPENAPI = {
    "paths": {
        "/things": {"get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}]}},
        "/things/{thing_id}": {
            "get": {"parameters": [{"name": "thing_id", "in": "path", "required": True}]},
            "delete": {"parameters": [{"name": "thing_id", "in": "path", "required": True},
                                      {"name": "version", "in": "query", "required": True,
                                       "schema": {"type": "integer", "minimum": 1}}]},
            "patch": {"parameters": [{"name": "thing_id", "in": "path", "required": True}],
                      "requestBody": {"content": {"application/json": {
                          "schema": {"$ref": "#/components/schemas/Edit"}}}}},
        },
        "/gadgets/{gadget_id}": {"get": {"parameters": [{"name": "gadget_id", "in": "path"}]}},
        "/things/{thing_id}/notes": {"post": {
            "parameters": [{"name": "thing_id", "in": "path"}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}},
    },
    "components": {"schemas": {"Edit": {"type": "object", "examples": [{"title": "x", "version": 1}]}}},
}


def test_bola_probes_cover_every_id_taking_operation_and_name_the_rest():
    probes, uncovered = bola_probes(OPENAPI, {"thing_id"})
    assert {p.label for p in probes} == {"GET /things/{thing_id}", "DELETE /things/{thing_id}",
                                         "PATCH /things/{thing_id}"}
    by_label = {p.label: p for p in probes}
    assert by_label["DELETE /things/{thing_id}"].query == {"version": 1}
    assert by_label["PATCH /things/{thing_id}"].body == {"title": "x", "version": 1}
    assert by_label["GET /things/{thing_id}"].path({"thing_id": "b-1"}) == "/things/b-1"
    reasons = {u.operation: u.reason for u in uncovered}
    assert "gadget_id" in reasons["GET /gadgets/{gadget_id}"]
    assert "no example" in reasons["POST /things/{thing_id}/notes"]


def test_sequential_scans_are_found_at_any_depth():
    plan = [{"Plan": {"Node Type": "Limit", "Plans": [
        {"Node Type": "Nested Loop", "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "work_items"},
            {"Node Type": "Seq Scan", "Relation Name": "memberships"}]}]}}]
    assert sequential_scans(plan) == ["memberships"]
    assert sequential_scans([{"Plan": {"Node Type": "Index Only Scan"}}]) == []


def test_a_cursor_round_trips_and_refuses_what_it_did_not_issue():
    cursor = Cursor("priority", 3, "2026-11-22T10:00:00.123456+00:00", str(uuid.uuid4()))
    assert Cursor.decode(cursor.encode(), "priority") == cursor
    with pytest.raises(ValueError):
        Cursor.decode(cursor.encode(), "-created_at")
    for junk in ("", "abc", "eyJ9"):
        with pytest.raises(ValueError):
            Cursor.decode(junk, "priority")


def test_the_list_query_is_keyset_not_offset():
    cursor = Cursor("-created_at", None, "2026-11-22T10:00:00+00:00", str(uuid.uuid4()))
    query, params = list_sql(uuid.uuid4(), sort="-created_at", limit=51, status="active", cursor=cursor)
    text = query.as_string(None)
    assert "offset" not in text.lower()
    assert '("created_at", "work_item_id") < (' in text
    assert 'order by "created_at" desc, "work_item_id" desc' in text
    assert params["status"] == "active" and params["limit"] == 51


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_the_list_statement_rendered_once_per_shape_is_the_composed_one(sort):
    """page_json_text's cached text is page_json_sql's statement, for every shape (sort, status
    filter or not, cursor or not), with the parameters of the call and not of an earlier one."""
    lead = 3 if SORTS[sort][0] else None
    for status in (None, "active", "done"):
        for cursor in (None, Cursor(sort, lead, "2026-11-22T10:00:00+00:00", str(uuid.uuid4()))):
            workspace = uuid.uuid4()
            composed, params = page_json_sql(workspace, sort=sort, limit=7, status=status, cursor=cursor)
            text, text_params = page_json_text(workspace, sort=sort, limit=7, status=status, cursor=cursor)
            assert text == composed.as_string(None)
            assert text_params == params and params["workspace_id"] == workspace
            assert ("status = %(status)s" in text) is (status is not None)
            assert ("%(after_id)s::uuid" in text) is (cursor is not None)


@pytest.mark.parametrize(("headers", "expected"), [
    ({b"traceparent": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
     "4bf92f3577b34da6a3ce929d0e0e4736"),
    ({b"traceparent": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      b"x-correlation-id": b"req-1"}, "4bf92f3577b34da6a3ce929d0e0e4736"),
    ({b"x-correlation-id": b"req-1"}, "req-1"),
])
def test_the_correlation_id_comes_from_the_request(headers, expected):
    assert correlation_from_headers(headers) == expected


@pytest.mark.parametrize("headers", [{}, {b"x-correlation-id": b"has space"},
                                     {b"traceparent": b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01"}])
def test_a_missing_or_unusable_correlation_id_is_made_up(headers):
    made = correlation_from_headers(headers)
    assert len(made) == 32 and made != correlation_from_headers(headers)


def test_a_tenant_knows_its_ids_and_hides_its_token():
    tenant = ApiTenant.from_mapping({"workspace_id": uuid.uuid4(), "user_id": uuid.uuid4(),
                                     "token": "wit_secret", "work_item_ids": [uuid.uuid4()]})
    assert set(tenant.path_ids()) == {"workspace_id", "user_id", "work_item_id"}
    assert "wit_secret" not in repr(tenant)
    assert tenant.auth() == {"Authorization": "Bearer wit_secret"}
