"""The gate catalog: ``gates.yaml`` validated into frozen dataclasses.

The catalog says, for each sprint gate S00-S11, which stories it closes and which **evidence
items** must be proven before the gate can open. Each item names its kind:

- ``test``: met by tests carrying the Allure label ``evidence=<item id>``;
- ``slo``: met by such tests that also attach a measured value (``metric:<name>``); a threshold
  written here overrides the one the test brought with it;
- ``document``: met by a file in the target repository that a registered document check
  (:mod:`harness.gates.documents`) accepts.

Everything is checked on load, and every error names the file, the line, the field and the fix:
unique gate and item ids, item ids shaped ``S<nn>.<slug>`` under their own gate, known kinds and
document checks, stories shaped ``F<n>-E<n>-S<n>`` and listed by the gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.evidence import COMPARISONS  # one list for writer and reader
from harness.gates.yamlsource import LineMap, line_of, read_yaml

__all__ = ["COMPARISONS", "KINDS", "Catalog", "EvidenceItem", "Gate", "Threshold", "load_catalog"]

KINDS = ("test", "slo", "document")
GATE_ID = re.compile(r"^S\d{2}$")
ITEM_ID = re.compile(r"^(S\d{2})\.[a-z0-9]+(?:-[a-z0-9]+)*$")
STORY_ID = re.compile(r"^F\d+-E\d+-S\d+$")

_GATE_FIELDS = {"id", "name", "objective", "stories", "items"}
_ITEM_FIELDS = {"id", "kind", "proves", "stories", "min_tests", "waivable", "check", "path",
                "thresholds", "capability"}
_THRESHOLD_FIELDS = {"metric", "comparison", "value", "unit"}


@dataclass(frozen=True)
class Threshold:
    """A limit a measured value must keep: ``value <comparison> limit``."""

    metric: str
    comparison: str
    value: float
    unit: str = ""


@dataclass(frozen=True)
class EvidenceItem:
    id: str
    kind: str
    proves: str
    stories: tuple[str, ...] = ()
    min_tests: int = 1
    waivable: bool = True
    check: str | None = None       # document items: the registered check's name
    path: str | None = None        # document items: the file, relative to the target's root
    thresholds: tuple[Threshold, ...] = ()
    # the target capability the item needs (harness.capabilities); a target that declares it
    # unsupported gets the item as "not applicable"
    capability: str | None = None
    line: int = 0

    @property
    def gate(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Gate:
    id: str
    name: str
    objective: str
    stories: tuple[str, ...]
    items: tuple[EvidenceItem, ...]
    line: int = 0

    def item(self, item_id: str) -> EvidenceItem | None:
        return next((i for i in self.items if i.id == item_id), None)


@dataclass(frozen=True)
class Catalog:
    path: Path
    gates: tuple[Gate, ...]

    def gate(self, gate_id: str) -> Gate:
        for gate in self.gates:
            if gate.id == gate_id:
                return gate
        known = ", ".join(g.id for g in self.gates)
        raise ConfigError(str(self.path), "gates", f"no gate {gate_id!r} in the catalog",
                          f"use one of {known}")

    def item(self, item_id: str) -> EvidenceItem | None:
        for gate in self.gates:
            found = gate.item(item_id)
            if found is not None:
                return found
        return None


def load_catalog(path: str | Path) -> Catalog:
    """Reads and validates ``gates.yaml``."""
    path = Path(path)
    raw = read_yaml(path, fix="pass --catalog FILE or run from the folder holding gates.yaml")
    where = str(path)
    if not isinstance(raw, LineMap) or "gates" not in raw:
        raise ConfigError(where, "gates", "the catalog must be a mapping with a 'gates' list",
                          "start the file with 'gates:'")
    for key in raw:
        if key not in {"gates", "version"}:
            raise ConfigError(where, f"line {raw.line_of(key)}: {key}", "is not a known field",
                              "allowed at the top: version, gates")
    gates_raw = raw["gates"]
    if not isinstance(gates_raw, list) or not gates_raw:
        raise ConfigError(where, f"line {raw.line_of('gates')}: gates", "must be a non-empty list",
                          "list one entry per sprint gate")
    seen_gates: dict[str, int] = {}
    seen_items: dict[str, int] = {}
    gates = [_gate(where, index, gate_raw, line_of(gates_raw, index), seen_gates, seen_items)
             for index, gate_raw in enumerate(gates_raw)]
    return Catalog(path=path, gates=tuple(gates))


def _gate(where: str, index: int, raw: Any, line: int, seen_gates: dict[str, int],
          seen_items: dict[str, int]) -> Gate:
    fld = f"gates[{index}]"
    _mapping(where, fld, raw, line)
    _known(where, fld, raw, _GATE_FIELDS)
    gate_id = _text(where, fld, raw, "id")
    if not GATE_ID.match(gate_id):
        raise ConfigError(where, f"line {raw.line_of('id')}: {fld}.id",
                          f"{gate_id!r} is not a gate id", "write it as S<nn>, e.g. S03")
    if gate_id in seen_gates:
        raise ConfigError(where, f"line {raw.line_of('id')}: {fld}.id",
                          f"gate {gate_id} is listed twice (first on line {seen_gates[gate_id]})",
                          "keep one entry per gate")
    seen_gates[gate_id] = raw.line_of("id")
    fld = f"gates[{gate_id}]"
    name = _text(where, fld, raw, "name")
    objective = _text(where, fld, raw, "objective", required=False)
    stories = _stories(where, fld, raw)
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise ConfigError(where, f"line {raw.line_of('items')}: {fld}.items",
                          "must be a non-empty list of evidence items",
                          "a gate without evidence items cannot be decided")
    items = tuple(_item(where, gate_id, stories, i, item_raw, line_of(items_raw, i), seen_items)
                  for i, item_raw in enumerate(items_raw))
    return Gate(id=gate_id, name=name, objective=objective, stories=stories, items=items, line=line)


def _item(where: str, gate_id: str, gate_stories: tuple[str, ...], index: int, raw: Any,
          line: int, seen: dict[str, int]) -> EvidenceItem:
    fld = f"gates[{gate_id}].items[{index}]"
    _mapping(where, fld, raw, line)
    _known(where, fld, raw, _ITEM_FIELDS)
    item_id = _text(where, fld, raw, "id")
    at = f"line {raw.line_of('id')}: {fld}.id"
    match = ITEM_ID.match(item_id)
    if not match:
        raise ConfigError(where, at, f"{item_id!r} is not an evidence item id",
                          f"write it as {gate_id}.<slug> with lower-case words joined by '-'")
    if match.group(1) != gate_id:
        raise ConfigError(where, at, f"{item_id!r} is listed under gate {gate_id}",
                          f"rename it {gate_id}.{item_id.split('.', 1)[1]} or move it")
    if item_id in seen:
        raise ConfigError(where, at, f"{item_id!r} is listed twice (first on line {seen[item_id]})",
                          "give every evidence item its own id")
    seen[item_id] = raw.line_of("id")
    fld = f"{gate_id} item {item_id}"
    kind = _text(where, fld, raw, "kind")
    if kind not in KINDS:
        raise ConfigError(where, f"line {raw.line_of('kind')}: {fld}: kind",
                          f"{kind!r} is not a known kind", f"use one of {', '.join(KINDS)}")
    stories = _stories(where, fld, raw)
    if gate_stories:
        for story in stories:
            if story not in gate_stories:
                raise ConfigError(where, f"line {raw.line_of('stories')}: {fld}: stories",
                                  f"{story} is not one of gate {gate_id}'s stories",
                                  f"use one of {', '.join(gate_stories)} or add it to the gate")
    min_tests = raw.get("min_tests", 1)
    if isinstance(min_tests, bool) or not isinstance(min_tests, int) or min_tests < 1:
        raise ConfigError(where, f"line {raw.line_of('min_tests')}: {fld}: min_tests",
                          f"must be a whole number of at least 1, got {min_tests!r}",
                          "write e.g. min_tests: 2")
    waivable = raw.get("waivable", True)
    if not isinstance(waivable, bool):
        raise ConfigError(where, f"line {raw.line_of('waivable')}: {fld}: waivable",
                          f"must be true or false, got {waivable!r}", "write waivable: false")
    check, path = _document_fields(where, fld, kind, raw)
    thresholds = _thresholds(where, fld, kind, raw)
    capability = _text(where, fld, raw, "capability", required=False) if "capability" in raw else None
    if capability is not None:
        from harness.families import canonical_capability  # the families' packages are heavy

        capability = canonical_capability(capability, where,
                                          f"line {raw.line_of('capability')}: {fld}: capability")
    return EvidenceItem(id=item_id, kind=kind, proves=_text(where, fld, raw, "proves"),
                        stories=stories, min_tests=min_tests, waivable=waivable, check=check,
                        path=path, thresholds=thresholds, capability=capability, line=raw.line)


def _document_fields(where: str, fld: str, kind: str, raw: LineMap) -> tuple[str | None, str | None]:
    from harness.gates.documents import CHECKS

    if kind != "document":
        for key in ("check", "path"):
            if key in raw:
                raise ConfigError(where, f"line {raw.line_of(key)}: {fld}: {key}",
                                  f"only document items take '{key}'", "remove it or use kind: document")
        return None, None
    check = _text(where, fld, raw, "check")
    if check not in CHECKS:
        raise ConfigError(where, f"line {raw.line_of('check')}: {fld}: check",
                          f"{check!r} is not a known document check",
                          f"use one of {', '.join(sorted(CHECKS))}")
    path = _text(where, fld, raw, "path", required=False) or None
    if path is None and CHECKS[check].needs_path:
        raise ConfigError(where, f"line {raw.line}: {fld}: path", f"check {check!r} needs a file",
                          "add path: <file relative to the target's root>, e.g. risks.yaml")
    return check, path


def _thresholds(where: str, fld: str, kind: str, raw: LineMap) -> tuple[Threshold, ...]:
    if "thresholds" not in raw:
        return ()
    at = f"line {raw.line_of('thresholds')}: {fld}: thresholds"
    if kind != "slo":
        raise ConfigError(where, at, "only slo items take thresholds", "use kind: slo")
    entries = raw["thresholds"]
    if not isinstance(entries, list):
        raise ConfigError(where, at, "must be a list", "write - {metric: p95_ms, comparison: '<=', value: 200}")
    result = []
    for index, entry in enumerate(entries):
        line = line_of(entries, index) or raw.line_of("thresholds")
        if not isinstance(entry, dict) or set(entry) - _THRESHOLD_FIELDS or not {"metric", "comparison", "value"} <= set(entry):
            raise ConfigError(where, f"line {line}: {fld}: thresholds",
                              "each threshold needs metric, comparison and value (and optionally unit)",
                              "write - {metric: p95_ms, comparison: '<=', value: 200, unit: ms}")
        if entry["comparison"] not in COMPARISONS:
            raise ConfigError(where, f"line {line}: {fld}: thresholds.comparison",
                              f"{entry['comparison']!r} is not a comparison", f"use one of {' '.join(COMPARISONS)}")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(where, f"line {line}: {fld}: thresholds.value",
                              f"must be a number, got {value!r}", "write the limit as a number")
        result.append(Threshold(metric=str(entry["metric"]), comparison=entry["comparison"],
                                value=float(value), unit=str(entry.get("unit", ""))))
    return tuple(result)


def _stories(where: str, fld: str, raw: LineMap) -> tuple[str, ...]:
    stories = raw.get("stories", [])
    at = f"line {raw.line_of('stories')}: {fld}: stories"
    if not isinstance(stories, list):
        raise ConfigError(where, at, "must be a list", "write stories: [F2-E3-S1, F2-E3-S2]")
    for story in stories:
        if not isinstance(story, str) or not STORY_ID.match(story):
            raise ConfigError(where, at, f"{story!r} is not a story id",
                              "write stories as F<feature>-E<epic>-S<story>, e.g. F2-E3-S1")
    if len(set(stories)) != len(stories):
        raise ConfigError(where, at, "lists a story twice", "list each story once")
    return tuple(stories)


def _mapping(where: str, fld: str, raw: Any, line: int) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(where, f"line {line}: {fld}" if line else fld,
                          f"must be a mapping, got {type(raw).__name__}", "see gates.yaml for the shape")


def _known(where: str, fld: str, raw: LineMap, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(where, f"line {raw.line_of(key)}: {fld}.{key}", "is not a known field",
                              f"allowed: {', '.join(sorted(allowed))}")


def _text(where: str, fld: str, raw: LineMap, key: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problem = "is missing" if value is None else f"must be text, got {value!r}"
        raise ConfigError(where, f"line {raw.line_of(key)}: {fld}.{key}", problem,
                          f"add {key}: <text>")
    return value.strip()
