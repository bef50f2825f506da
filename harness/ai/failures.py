"""The AI-data families' failure type: a check on ingestion, retrieval or agent-run data failed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from harness.evidence import EvidenceFailure

__all__ = ["AiDataFailure", "require_no_problems"]


class AiDataFailure(EvidenceFailure):
    """A target's AI data path broke a property (isolation, lineage, state machine, schema)."""


def require_no_problems(problems: Iterable[Any], message: str,
                        context: Iterable[tuple[str, str]] = ()) -> None:
    """Raises one :class:`AiDataFailure` listing every problem found, or returns quietly."""
    problems = list(problems)
    if problems:
        shown = json.dumps(problems[:20], indent=2, default=str)
        raise AiDataFailure(f"{message} ({len(problems)} problem(s))",
                            [("problems", shown), *context])
