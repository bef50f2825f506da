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
and no value constraint narrows (a ``pattern`` or ``format`` added or changed, a length, range,
item count or ``multipleOf`` tightened), recursively through ``properties`` and ``items``. A
breaking change needs a new event type.

The checks judge whatever a target's catalog holds: a schema that is not an object, a
``required`` that is not a list, a version that is not a number are findings against the
catalog, never an exception of the checker.
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
    types = {kind} if isinstance(kind, str) else {str(k) for k in kind} if isinstance(kind, list) else {repr(kind)}
    return types | {"integer"} if "number" in types else types


# keyword -> +1 when a larger value narrows (a lower bound), -1 when a smaller one does
_BOUNDS = {"minLength": 1, "maxLength": -1, "minimum": 1, "maximum": -1, "exclusiveMinimum": 1,
           "exclusiveMaximum": -1, "minItems": 1, "maxItems": -1, "minProperties": 1,
           "maxProperties": -1}
_EXACT = ("pattern", "format", "multipleOf")


def _narrowed(old: Schema, new: Schema, path: str) -> list[str]:
    """Value constraints that refuse values the old schema accepted."""
    problems = []
    for key, direction in _BOUNDS.items():
        if key not in new:
            continue
        before, after = old.get(key), new[key]
        if before is None:
            problems.append(f"{path}: {key} {after!r} added (values the old version allowed are refused)")
        elif not isinstance(before, int | float) or not isinstance(after, int | float):
            problems.append(f"{path}: {key} changed from {before!r} to {after!r}")
        elif (after - before) * direction > 0:
            problems.append(f"{path}: {key} narrowed from {before!r} to {after!r}")
    for key in _EXACT:
        if key in new and old.get(key, _ABSENT) != new[key]:
            was = "added" if key not in old else f"changed from {old[key]!r}"
            problems.append(f"{path}: {key} {was} to {new[key]!r}")
    return problems


_ABSENT = object()


def _names(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list | tuple) else set()


def incompatibilities(old: Schema, new: Schema, path: str = "$") -> list[str]:
    """Why a document valid under ``old`` may be invalid under ``new`` or mislead its reader."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        if isinstance(old, Mapping) or isinstance(new, Mapping) or old != new:
            return [f"{path}: schema is not a JSON object ({type(old).__name__} -> "
                    f"{type(new).__name__}); it cannot be compared"]
        return []
    try:
        return _incompatibilities(old, new, path)
    except (TypeError, ValueError, AttributeError) as exc:
        return [f"{path}: schema cannot be read ({type(exc).__name__}: {exc})"]


def _incompatibilities(old: Schema, new: Schema, path: str) -> list[str]:
    problems: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if new_types is not None and (old_types is None or not old_types <= new_types):
        problems.append(f"{path}: type changed from {sorted(old_types or ['any'])} to {sorted(new_types)}")
    if "enum" in new:
        allowed = new["enum"] if isinstance(new["enum"], list) else []
        lost = [v for v in old.get("enum", []) if v not in allowed] if "enum" in old else ["<any>"]
        if lost:
            problems.append(f"{path}: enum narrowed, {lost} no longer allowed")
    if "const" in new and old.get("const", object()) != new["const"]:
        problems.append(f"{path}: const changed to {new['const']!r}")
    problems += _narrowed(old, new, path)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    if not isinstance(old_props, Mapping) or not isinstance(new_props, Mapping):
        problems.append(f"{path}: properties is not an object")
        old_props, new_props = {}, {}
    old_req, new_req = _names(old.get("required", [])), _names(new.get("required", []))
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
    if not isinstance(schema, Mapping) or not isinstance(schema.get("properties", {}), Mapping):
        return schema
    props = dict(schema.get("properties", {}))
    if isinstance(props.get("version"), Mapping) and props["version"].get("const") == version:
        props["version"] = {k: v for k, v in props["version"].items() if k != "const"}
    return {**schema, "properties": props}


def compatibility_findings(catalog: Mapping[str, Mapping[int, Schema]]) -> list[tuple[str, str]]:
    """(where, problem) for every break between consecutive versions of every event type."""
    findings = []
    for event_type, versions in sorted(catalog.items(), key=lambda kv: str(kv[0])):
        if not isinstance(versions, Mapping) or not all(type(v) is int for v in versions):
            findings.append((str(event_type), "versions are not a map of whole version numbers to "
                             f"schemas ({versions!r:.80})"))
            continue
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
    for event_type, versions in sorted(catalog.items(), key=lambda kv: str(kv[0])):
        if not isinstance(versions, Mapping):
            findings.append((str(event_type), f"versions are not a map ({versions!r:.80})"))
            continue
        for version, schema in sorted(versions.items(), key=lambda kv: str(kv[0])):
            where = f"{event_type} v{version}"
            if not isinstance(schema, Mapping):
                findings.append((where, f"schema is not a JSON object ({type(schema).__name__})"))
                continue
            missing = [f for f in ENVELOPE_FIELDS if f not in _names(schema.get("required", []))]
            if missing:
                findings.append((where, f"envelope fields not required: {missing}"))
            props = schema.get("properties", {})
            props = props if isinstance(props, Mapping) else {}
            if _pin(props, "event_type") != event_type:
                findings.append((where, "event_type is not pinned to the schema's own type (const)"))
            if _pin(props, "version") != version:
                findings.append((where, f"version is not pinned to {version} (const)"))
    return findings


def _pin(props: Mapping[str, Any], name: str) -> Any:
    field = props.get(name)
    return field.get("const") if isinstance(field, Mapping) else None


def validation_errors(schema: Schema, document: Any) -> list[str]:
    """Every way ``document`` breaks ``schema`` (JSON Schema 2020-12, formats checked)."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))]
