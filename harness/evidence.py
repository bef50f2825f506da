"""The evidence marker and the Allure labels it becomes.

``@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")`` says which gate
evidence item a test proves. It becomes the Allure labels ``evidence`` (the item id), ``gate``
(the part before the first dot), and ``epic`` / ``feature`` / ``story`` from the story id
(``F2`` / ``F2-E3`` / ``F2-E3-S1``). A malformed marker fails at collection with what to write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["EvidenceClaim", "parse_claim"]

ITEM_ID = re.compile(r"^S\d{2}\.[a-z0-9][a-z0-9-]*$")
STORY_ID = re.compile(r"^F\d+-E\d+-S\d+$")


@dataclass(frozen=True)
class EvidenceClaim:
    item: str
    story: str | None = None

    @property
    def gate(self) -> str:
        return self.item.split(".", 1)[0]

    def labels(self) -> list[tuple[str, str]]:
        labels = [("evidence", self.item), ("gate", self.gate)]
        if self.story:
            epic, feature, _ = self.story.split("-")
            labels += [("epic", epic), ("feature", f"{epic}-{feature}"), ("story", self.story)]
        return labels


def parse_claim(args: tuple, kwargs: dict, where: str) -> EvidenceClaim:
    """Validates one ``evidence`` marker; raises ValueError naming the test and the fix."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise ValueError(f"{where}: @pytest.mark.evidence takes one item id, e.g. "
                         f"evidence(\"S03.cross-tenant-negatives\", story=\"F2-E3-S1\")")
    unknown = set(kwargs) - {"story"}
    if unknown:
        raise ValueError(f"{where}: @pytest.mark.evidence got unknown argument(s) {sorted(unknown)}; "
                         "only story= is accepted")
    item = args[0]
    if not ITEM_ID.match(item):
        raise ValueError(f"{where}: evidence item {item!r} is not shaped S<nn>.<slug> "
                         "(e.g. S03.cross-tenant-negatives)")
    story = kwargs.get("story")
    if story is not None and (not isinstance(story, str) or not STORY_ID.match(story)):
        raise ValueError(f"{where}: story {story!r} is not shaped F<n>-E<n>-S<n> (e.g. F2-E3-S1)")
    return EvidenceClaim(item=item, story=story)
