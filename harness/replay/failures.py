"""The replay family's failure type and the evidence it carries.

:class:`ReplayFailure` is an :class:`harness.evidence.EvidenceFailure`: a check on the target
failed, and ``context`` holds what a reviewer needs without re-running anything (the event
history that produced it, the duplicate effects found, the rows seen).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.evidence import EvidenceFailure

__all__ = ["ReplayFailure", "as_json", "duplicates_of"]


class ReplayFailure(EvidenceFailure):
    """A replay, duplicate or webhook check failed; ``context`` holds the evidence."""


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str, sort_keys=True)


def duplicates_of(ids: Iterable[Any]) -> dict[str, int]:
    """Each id seen more than once, with how many times."""
    return {str(k): n for k, n in Counter(map(str, ids)).items() if n > 1}
