"""Both sides of the evidence contract: what a test writes, and the names a packet reads back.

- **The marker.** ``@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")`` says
  which gate evidence item a test proves. It becomes the Allure labels ``evidence`` (the item
  id), ``gate`` (the part before the first dot), and ``epic`` / ``feature`` / ``story`` from the
  story id (``F2`` / ``F2-E3`` / ``F2-E3-S1``). A malformed marker fails at collection with what
  to write.
- **Failures.** :class:`EvidenceFailure` is an ``AssertionError`` (a failed check on the target,
  not a crash of the harness) carrying ``context=[(title, text)]`` after pytest-alembic; every
  family subclasses it. The plugin attaches each section to the Allure result.
- **Attachments and metrics.** :func:`attach_json` attaches a JSON document;
  :func:`record_metric` writes a measured value the way ``harness.gates.results`` reads it (an
  attachment ``metric:<name>`` plus an excluded parameter, so a rerun keeps its ``historyId``).

The label, prefix and file names are constants here, imported by the reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMPARISONS", "LABEL_EVIDENCE", "LABEL_GATE", "METRIC_PREFIX", "EvidenceClaim",
    "EvidenceFailure", "attach_context", "attach_json", "attach_text", "parse_claim",
    "record_metric",
]

ITEM_ID = re.compile(r"^S\d{2}\.[a-z0-9][a-z0-9-]*$")
STORY_ID = re.compile(r"^F\d+-E\d+-S\d+$")

LABEL_EVIDENCE = "evidence"
LABEL_GATE = "gate"
METRIC_PREFIX = "metric:"
COMPARISONS = ("<=", "<", ">=", ">", "==")


@dataclass(frozen=True)
class EvidenceClaim:
    item: str
    story: str | None = None

    @property
    def gate(self) -> str:
        return self.item.split(".", 1)[0]

    def labels(self) -> list[tuple[str, str]]:
        labels = [(LABEL_EVIDENCE, self.item), (LABEL_GATE, self.gate)]
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


class EvidenceFailure(AssertionError):
    """A check failed on the target; ``context`` holds the evidence, section by section.

    Subclass it per family (``IsolationFailure``, ``ReplayFailure``, ...). Collect every problem
    first and raise once, so one run shows them all.
    """

    def __init__(self, message: str, context: Iterable[tuple[str, str]] = ()) -> None:
        self.message = message
        self.context: list[tuple[str, str]] = [(str(t), str(x)) for t, x in context]
        super().__init__(self.render())

    def render(self) -> str:
        sections = [f"--- {title} ---\n{text.rstrip()}" for title, text in self.context]
        return "\n\n".join([self.message, *sections])


def attach_text(text: str, name: str) -> None:
    """Attaches plain text to the running Allure test (a no-op outside an Allure run)."""
    import allure

    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_json(data: Any, name: str) -> None:
    """Attaches ``data`` as a JSON document (``default=str`` for UUIDs, datetimes, decimals)."""
    import allure

    allure.attach(json.dumps(data, indent=2, default=str, sort_keys=True), name=name,
                  attachment_type=allure.attachment_type.JSON)


def attach_context(failure: EvidenceFailure) -> None:
    """Attaches a failure's message and each of its context sections (the plugin calls this)."""
    attach_text(failure.message, "failure")
    for title, text in failure.context:
        attach_text(text, title)


def record_metric(name: str, value: float, unit: str = "", threshold: float | None = None,
                  comparison: str | None = None) -> None:
    """Records a measured value for the test's evidence item (of any kind).

    ``threshold`` and ``comparison`` (one of ``<= < >= > ==``) are the test's own rule, and the
    decision rules judge it: a value that misses it fails the item, whatever the item's kind. A
    figure that is information only is recorded without a threshold. The catalog's threshold for
    the same metric wins when it has one. The value goes into an
    attachment ``metric:<name>`` (value, unit, threshold) and an *excluded* parameter of the same
    name, so reruns of the test keep one ``historyId`` whatever they measured.
    """
    import allure

    if comparison is not None and comparison not in COMPARISONS:
        raise ValueError(f"record_metric({name!r}): comparison {comparison!r} is not one of "
                         f"{' '.join(COMPARISONS)}")
    if (threshold is None) != (comparison is None):
        raise ValueError(f"record_metric({name!r}): give threshold and comparison together")
    value = float(value)
    body: dict[str, Any] = {"name": name, "value": value, "unit": unit}
    if threshold is not None:
        body.update(threshold=float(threshold), comparison=comparison)
    allure.attach(json.dumps(body), name=f"{METRIC_PREFIX}{name}",
                  attachment_type=allure.attachment_type.JSON)
    # a number, not text: allure stores the repr() of the value, and the reader wants a number
    allure.dynamic.parameter(f"{METRIC_PREFIX}{name}", value, excluded=True)
