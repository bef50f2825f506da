"""BOLA / IDOR probes generated from the published OpenAPI, not hand-listed.

For every operation whose path names a resource (a path parameter), one probe fills each path
parameter with the *foreign* tenant's identifier of that name (``work_item_id`` -> one of B's
items, ``workspace_id`` -> B's workspace, ...), the request body with the operation's published
example and required query parameters with their example, default or minimum. Sent with tenant
A's token, every probe must get 404 (a 403 would confirm that B's resource exists) and leave
B's data exactly as it was. The positive twin sends the same request with A's own identifiers and
must *not* get 404 or 422, so a probe that could never have succeeded proves nothing.

An operation the generator cannot fill (a path parameter with no known identifier, a body with
no example) is reported as uncovered: a new endpoint is probed or named, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BolaProbe", "ProbeOutcome", "Uncovered", "bola_probes", "run_probes"]

METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class BolaProbe:
    method: str
    path_template: str
    path_params: tuple[str, ...]
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path_template}"

    def path(self, ids: Mapping[str, str]) -> str:
        path = self.path_template
        for name in self.path_params:
            path = path.replace("{" + name + "}", ids[name])
        return path


@dataclass(frozen=True)
class Uncovered:
    operation: str
    reason: str


def bola_probes(openapi: Mapping[str, Any], id_names: set[str]) -> tuple[list[BolaProbe], list[Uncovered]]:
    """One probe per operation that takes a resource id; what could not be probed, and why."""
    probes, uncovered = [], []
    for template, item in sorted(openapi.get("paths", {}).items()):
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            params = [_resolve(openapi, p) for p in [*shared, *operation.get("parameters", [])]]
            path_params = tuple(p["name"] for p in params if p.get("in") == "path")
            if not path_params:
                continue  # no resource id: the cross-tenant data check covers it
            label = f"{method.upper()} {template}"
            unknown = [n for n in path_params if n not in id_names]
            if unknown:
                uncovered.append(Uncovered(label, f"no identifier of a tenant for path parameter(s) "
                                                  f"{', '.join(unknown)}"))
                continue
            try:
                query = {p["name"]: _example_value(openapi, p.get("schema", {}), p)
                         for p in params if p.get("in") == "query" and p.get("required")}
                body = _body_example(openapi, operation)
            except LookupError as exc:
                uncovered.append(Uncovered(label, str(exc)))
                continue
            probes.append(BolaProbe(method, template, path_params, query, body))
    return probes, uncovered


def _resolve(openapi: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = openapi
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _body_example(openapi: Mapping[str, Any], operation: Mapping[str, Any]) -> Any:
    request = _resolve(openapi, operation.get("requestBody"))
    if not request:
        return None
    media = request.get("content", {}).get("application/json")
    if media is None:
        raise LookupError("its request body is not application/json")
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return _resolve(openapi, next(iter(media["examples"].values()))).get("value")
    return _example_value(openapi, media.get("schema", {}), {"name": "request body"})


def _example_value(openapi: Mapping[str, Any], schema: Any, param: Mapping[str, Any]) -> Any:
    schema = _resolve(openapi, schema)
    for source in (param, schema):
        if "example" in source:
            return source["example"]
        if source.get("examples"):
            examples = source["examples"]
            return examples[0] if isinstance(examples, list) else next(iter(examples.values()))
    if "default" in schema:
        return schema["default"]
    if "minimum" in schema:
        return schema["minimum"]
    if schema.get("enum"):
        return schema["enum"][0]
    raise LookupError(f"{param.get('name')} has no example, default or minimum to send")


@dataclass(frozen=True)
class ProbeOutcome:
    probe: str
    ids: str            # whose identifiers were sent
    status: int
    passed: bool

    def line(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.probe} with {self.ids} ids -> {self.status}"


def run_probes(client: Any, probes: list[BolaProbe], token_headers: Mapping[str, str],
               foreign_ids: Mapping[str, str], own_ids: Mapping[str, str]) -> list[ProbeOutcome]:
    """Each probe with the foreign tenant's ids (must be 404), then with the actor's own ids
    (must be neither 404 nor 422); deletes last, so they cannot remove what others probe."""
    ordered = sorted(probes, key=lambda p: (p.method == "delete", p.label))
    outcomes = []
    for ids_label, ids in (("foreign", foreign_ids), ("own", own_ids)):
        for probe in ordered:
            response = client.request(probe.method.upper(), probe.path(ids), headers=dict(token_headers),
                                      params=probe.query or None,
                                      **({"json": probe.body} if probe.body is not None else {}))
            passed = response.status_code == 404 if ids_label == "foreign" else \
                response.status_code not in (404, 422) and response.status_code < 500
            outcomes.append(ProbeOutcome(probe.label, ids_label, response.status_code, passed))
    return outcomes
