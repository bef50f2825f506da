"""Event contracts: envelope checks, validation, and backward compatibility between versions.

A target's contract catalog is ``{event_type: {version: JSON Schema}}``. Three checks run over it:

- :func:`envelope_findings`: every schema requires the envelope fields (``event_id``,
  ``event_type``, ``workspace_id``, ``correlation_id``, ``version``, ``occurred_at``,
  ``payload``) and pins its own event type and version;
- :func:`compatibility_findings`: each version is backward compatible with the one before it
  (:func:`incompatibilities`), and versions run 1..n without gaps;
- :func:`validation_errors`: a document against a schema, with the ``jsonschema`` library.

Why a checker of our own: validation is ``jsonschema``'s job, but no maintained Python library
compares two schemas for compatibility (the known ones are unmaintained or only diff text). The
rules here are the few a consumer relies on: a required field is not removed or made optional, no
required field is added, a type is not changed or narrowed, an enum or a const is not narrowed,
recursively through ``properties`` and ``items``. A breaking change needs a new event type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ENVELOPE_FIELDS", "compatibility_findings", "envelope_findings", "incompatibilities",
           "validation_errors"]

ENVELOPE_FIELDS = ("event_id", "event_type", "workspace_id", "correlation_id", "version",
                   "occurred_at", "payload")
Schema = Mapping[str, Any]


def _types(schema: Schema) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    types = {kind} if isinstance(kind, str) else set(kind)
    return types | {"integer"} if "number" in types else types


def incompatibilities(old: Schema, new: Schema, path: str = "$") -> list[str]:
    """Why a document valid under ``old`` may be invalid under ``new`` or mislead its reader."""
    problems: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if new_types is not None and (old_types is None or not old_types <= new_types):
        problems.append(f"{path}: type changed from {sorted(old_types or ['any'])} to {sorted(new_types)}")
    if "enum" in new:
        lost = [v for v in old.get("enum", []) if v not in new["enum"]] if "enum" in old else ["<any>"]
        if lost:
            problems.append(f"{path}: enum narrowed, {lost} no longer allowed")
    if "const" in new and old.get("const", object()) != new["const"]:
        problems.append(f"{path}: const changed to {new['const']!r}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_req - new_req):
        problems.append(f"{path}.{name}: required field removed or made optional")
    for name in sorted(new_req - old_req):
        problems.append(f"{path}.{name}: new required field (documents of the old version lack it)")
    if new.get("additionalProperties") is False:
        for name in sorted(set(old_props) - set(new_props)):
            problems.append(f"{path}.{name}: field removed while additional properties are refused")
    for name in sorted(set(old_props) & set(new_props)):
        problems += incompatibilities(old_props[name], new_props[name], f"{path}.{name}")
    if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
        problems += incompatibilities(old["items"], new["items"], f"{path}[]")
    return problems


def _envelope_only(schema: Schema, version: int) -> Schema:
    """The schema with its own version pin taken out: the version is meant to change."""
    props = dict(schema.get("properties", {}))
    if props.get("version", {}).get("const") == version:
        props["version"] = {k: v for k, v in props["version"].items() if k != "const"}
    return {**schema, "properties": props}


def compatibility_findings(catalog: Mapping[str, Mapping[int, Schema]]) -> list[tuple[str, str]]:
    """(where, problem) for every break between consecutive versions of every event type."""
    findings = []
    for event_type, versions in sorted(catalog.items()):
        numbers = sorted(versions)
        if numbers != list(range(1, len(numbers) + 1)):
            findings.append((event_type, f"versions {numbers} do not run 1..n without gaps"))
        for before, after in zip(numbers, numbers[1:], strict=False):
            for problem in incompatibilities(_envelope_only(versions[before], before),
                                             _envelope_only(versions[after], after)):
                findings.append((f"{event_type} v{before} -> v{after}", problem))
    return findings


def envelope_findings(catalog: Mapping[str, Mapping[int, Schema]]) -> list[tuple[str, str]]:
    """(where, problem) for every schema that does not pin the full envelope."""
    findings = []
    for event_type, versions in sorted(catalog.items()):
        for version, schema in sorted(versions.items()):
            where = f"{event_type} v{version}"
            missing = [f for f in ENVELOPE_FIELDS if f not in schema.get("required", [])]
            if missing:
                findings.append((where, f"envelope fields not required: {missing}"))
            props = schema.get("properties", {})
            if props.get("event_type", {}).get("const") != event_type:
                findings.append((where, "event_type is not pinned to the schema's own type (const)"))
            if props.get("version", {}).get("const") != version:
                findings.append((where, f"version is not pinned to {version} (const)"))
    return findings


def validation_errors(schema: Schema, document: Any) -> list[str]:
    """Every way ``document`` breaks ``schema`` (JSON Schema 2020-12, formats checked)."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))]
