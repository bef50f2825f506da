"""What changed since the previous packet of the same gate (``--baseline PACKET``).

A reviewer who read last week's packet wants the difference, not the whole again: the decision
if it changed, the items whose status flipped, items added to or removed from the catalog, and
the measured values that moved by more than 10% (relative to the baseline's value; any change
from zero counts). The baseline is a packet directory (or its ``packet.json``); when it has a
manifest it is verified first, because a diff against a tampered packet would be a lie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

__all__ = ["MOVE_THRESHOLD", "BaselineDiff", "ItemFlip", "MetricMove", "compare", "load_baseline"]

MOVE_THRESHOLD = 0.10


@dataclass(frozen=True)
class ItemFlip:
    item: str
    before: str
    after: str


@dataclass(frozen=True)
class MetricMove:
    item: str
    test: str
    metric: str
    before: float
    after: float
    change: float | None   # relative, e.g. 0.25 for +25%; None when the baseline was zero
    unit: str = ""


@dataclass(frozen=True)
class BaselineDiff:
    baseline_generated_at: str
    decision_before: str
    decision_after: str
    flipped: tuple[ItemFlip, ...] = ()
    moved: tuple[MetricMove, ...] = ()
    added_items: tuple[str, ...] = ()
    removed_items: tuple[str, ...] = ()

    @property
    def decision_changed(self) -> bool:
        return self.decision_before != self.decision_after


def load_baseline(path: str | Path, gate_id: str) -> dict[str, Any]:
    from harness.gates.manifest import MANIFEST, verify

    path = Path(path)
    directory = path if path.is_dir() else path.parent
    file = directory / "packet.json" if path.is_dir() else path
    fix = "pass --baseline with the directory of a packet this harness wrote"
    if not file.is_file():
        raise ConfigError(str(path), "--baseline", "no packet.json there", fix)
    if (directory / MANIFEST).is_file():
        problems = verify(directory)
        if problems:
            raise ConfigError(str(directory), "--baseline",
                              f"the baseline packet was changed after it was written ({problems[0]})",
                              "use an untouched packet as the baseline")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(str(file), "--baseline", f"cannot be read as JSON ({exc})", fix) from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ConfigError(str(file), "--baseline", "is not a gate packet (no items)", fix)
    if data.get("gate") != gate_id:
        raise ConfigError(str(file), "--baseline",
                          f"is a packet for gate {data.get('gate')!r}, not {gate_id}",
                          f"pass a previous packet of {gate_id}")
    return data


def compare(baseline: dict[str, Any], current: dict[str, Any],
            threshold: float = MOVE_THRESHOLD) -> BaselineDiff:
    before = {i.get("id"): i for i in baseline.get("items", []) if isinstance(i, dict)}
    after = {i["id"]: i for i in current["items"]}
    flipped = tuple(ItemFlip(item_id, str(before[item_id].get("status")), item["status"])
                    for item_id, item in after.items()
                    if item_id in before and before[item_id].get("status") != item["status"])
    old_metrics = _metrics(before.values())
    moved = []
    for key, (value, unit) in _metrics(after.values()).items():
        if key not in old_metrics:
            continue
        old, _ = old_metrics[key]
        change = None if old == 0 else (value - old) / abs(old)
        if (old == 0 and value != 0) or (change is not None and abs(change) > threshold):
            moved.append(MetricMove(item=key[0], test=key[1], metric=key[2], before=old,
                                    after=value, change=change, unit=unit))
    return BaselineDiff(
        baseline_generated_at=str(baseline.get("generated_at", "")),
        decision_before=str(baseline.get("decision", "")),
        decision_after=current["decision"],
        flipped=flipped,
        moved=tuple(moved),
        added_items=tuple(i for i in after if i not in before),
        removed_items=tuple(str(i) for i in before if i not in after),
    )


def _metrics(items: Any) -> dict[tuple[str, str, str], tuple[float, str]]:
    found = {}
    for item in items:
        for metric in item.get("metrics") or []:
            try:
                value = float(metric["value"])
            except (KeyError, TypeError, ValueError):
                continue
            key = (str(item.get("id")), str(metric.get("test", "")), str(metric.get("name", "")))
            found[key] = (value, str(metric.get("unit") or ""))
    return found
