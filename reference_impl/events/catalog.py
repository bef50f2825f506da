"""The reference's event contract catalog: ``schemas/<event_type>/v<n>.json``, read once.

Every event the reference stores is validated against the schema of its own type and version
first; an unknown type or version, or a document that breaks the schema, is refused whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from harness.replay.contracts import validation_errors

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@cache
def event_schemas() -> Mapping[str, Mapping[int, Mapping[str, Any]]]:
    catalog: dict[str, dict[int, Mapping[str, Any]]] = {}
    for path in sorted(SCHEMAS.glob("*/v*.json")):
        catalog.setdefault(path.parent.name, {})[int(path.stem[1:])] = json.loads(path.read_text())
    return catalog


def envelope_problems(envelope: Mapping[str, Any]) -> list[str]:
    """Why ``envelope`` may not be stored (empty when it may)."""
    versions = event_schemas().get(str(envelope.get("event_type")))
    if versions is None:
        return [f"event_type {envelope.get('event_type')!r} has no schema in {SCHEMAS.name}/"]
    schema = versions.get(envelope.get("version"))  # type: ignore[arg-type]
    if schema is None:
        return [f"{envelope.get('event_type')} has no version {envelope.get('version')!r}"]
    return validation_errors(schema, dict(envelope))
