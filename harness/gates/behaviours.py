"""The epic / feature / story tree of the Allure report, titled from the gate catalog.

The plugin labels each result with the story of its evidence marker: ``epic`` ``F2``,
``feature`` ``F2-E3``, ``story`` ``F2-E3-S1`` (see :mod:`harness.evidence`). Bare ids mean
little to a release lead browsing the Allure report, so the staged copy of each result gets the
catalog's words beside them: a story is titled by what its evidence items prove, an epic and a
feature by the gates whose stories they hold. A result without a story (the architecture gate's
items cite none) is placed under its gate and item, so that no test falls outside the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.gates.catalog import Catalog, Gate

__all__ = ["GROUP_BY", "behaviour_titles", "titled_labels"]

GROUP_BY = ("epic", "feature", "story")
_BEHAVIOURS = frozenset(GROUP_BY)


def behaviour_titles(catalog: Catalog, gate: Gate) -> dict[tuple[str, str], str]:
    """``{(label, id): title}`` for every epic, feature and story the catalog names."""
    gates_of: dict[str, list[str]] = {}
    for each in catalog.gates:
        for story in each.stories:
            epic, feature, _ = (story.split("-") + ["", ""])[:3]
            for key in (epic, f"{epic}-{feature}"):
                names = gates_of.setdefault(key, [])
                if each.name not in names:
                    names.append(each.name)
    titles: dict[tuple[str, str], str] = {}
    for key, names in gates_of.items():
        label = "feature" if "-" in key else "epic"
        titles[(label, key)] = f"{key} · {', '.join(names)}"
    # a story is titled by the item that proves it, this gate's first: a test may feed items of
    # two gates and carry both stories; the most specific item (fewest stories) names it best
    items = [*gate.items, *(i for each in catalog.gates if each.id != gate.id for i in each.items)]
    for story in sorted({s for item in items for s in item.stories}):
        proving = [item for item in items if story in item.stories]
        own = [item for item in proving if item.gate == gate.id] or proving
        first = min(own, key=lambda item: len(item.stories))
        more = f" (and {len(own) - 1} more items)" if len(own) > 1 else ""
        titles[("story", story)] = f"{story} · {first.proves.rstrip('.')}{more}"
    return titles


def titled_labels(labels: Iterable[dict[str, Any]], evidence: Iterable[str], gate: Gate,
                  titles: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """A result's labels with its epic, feature and story titled, or placed under its gate."""
    labels = [dict(label) for label in labels]
    for label in labels:
        if label.get("name") in _BEHAVIOURS:
            value = str(label.get("value") or "")
            label["value"] = titles.get((label["name"], value), value)
    if any(label.get("name") == "story" for label in labels):
        return labels
    for item_id in evidence:
        item = gate.item(item_id)
        if item is not None:
            labels += [{"name": "epic", "value": f"{gate.id} · {gate.name} (no story)"},
                       {"name": "feature", "value": item.id},
                       {"name": "story", "value": item.proves.rstrip(".")}]
    return labels
