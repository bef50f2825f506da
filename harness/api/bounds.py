"""The published bounds of a create body, tried at their edges through the API (S04).

A contract that says a description may hold 4,000 characters promises that 4,000 are stored;
schemathesis draws short values, so a database ``CHECK`` tighter than the OpenAPI (a limit
halved, a ``<=`` made ``<``) passes its fuzzing. :func:`check_published_bounds` reads the
create operation's body schema from the target's own ``/openapi.json`` (so a target is judged
against what it publishes, not against the reference's numbers) and, for every property with
a bound, creates an item with the value exactly at that bound: it must be created (201) and
read back unchanged. One step past each upper bound must be refused as invalid (422), never
stored and never a server error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from harness.api.target import ApiFailure, ApiTenant, HttpClient

__all__ = ["check_published_bounds", "edges"]

ITEMS = "/v1/work-items"
OPENAPI = "/openapi.json"


def edges(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, Any, bool]]:
    """``(property, which edge, value, valid)`` for every bound of an object schema's
    properties: strings at minLength and maxLength (and one over), integers at minimum and
    maximum (and one past each)."""
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        if kind == "string":
            low, high = prop.get("minLength"), prop.get("maxLength")
            if low:
                yield name, f"minLength {low}", "x" * low, True
            if high is not None:
                yield name, f"maxLength {high}", "x" * high, True
                yield name, f"maxLength {high} + 1", "x" * (high + 1), False
        elif kind == "integer":
            for key, step in (("minimum", -1), ("maximum", 1)):
                if key in prop:
                    bound = int(prop[key])
                    yield name, f"{key} {bound}", bound, True
                    yield name, f"{key} {bound} {'+' if step > 0 else '-'} 1", bound + step, False


def _create_schema(openapi: Mapping[str, Any]) -> Mapping[str, Any]:
    body = openapi["paths"][ITEMS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in body:
        body = openapi["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return body


def _minimal(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest valid body: every required string one character (or its minLength)."""
    return {name: "x" * max(schema["properties"][name].get("minLength", 1), 1)
            for name in schema.get("required", [])}


def check_published_bounds(client: HttpClient, tenant: ApiTenant) -> None:
    published = client.request("GET", OPENAPI)
    if published.status_code != 200:
        raise ApiFailure(f"GET {OPENAPI} answered {published.status_code}",
                         [("answer", published.text[:2000])])
    try:
        schema = _create_schema(published.json())
        base = _minimal(schema)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ApiFailure(f"the published OpenAPI has no readable body schema for POST {ITEMS}: "
                         f"{exc!r}", [("openapi", published.text[:4000])]) from None
    lines, problems, tried = [], [], 0
    for name, edge, value, valid in edges(schema):
        tried += 1
        answer = client.request("POST", ITEMS, json={**base, name: value}, headers=tenant.auth())
        lines.append(f"POST {ITEMS} {name} at {edge} -> {answer.status_code} {answer.text[:160]}")
        if not valid:
            if answer.status_code != 422:
                problems.append(f"{name} at {edge} (outside the contract) answered "
                                f"{answer.status_code}, not 422")
            continue
        if answer.status_code != 201:
            problems.append(f"{name} at {edge} (inside the contract) answered {answer.status_code}, "
                            "not 201")
            continue
        item = client.request("GET", f"{ITEMS}/{answer.json()['work_item_id']}", headers=tenant.auth())
        stored = item.json().get(name) if item.status_code == 200 else None
        if stored != value:
            problems.append(f"{name} at {edge} was read back as {str(stored)[:60]!r} "
                            f"({len(stored) if isinstance(stored, str) else stored}), not what was sent")
    if not tried:
        problems.append(f"POST {ITEMS}'s published body schema states no bound to try")
    if problems:
        raise ApiFailure("a value at an edge the contract publishes is refused, cut or accepted "
                         "past it", [("broken expectations", "\n".join(problems)),
                                     ("requests", "\n".join(lines))])
