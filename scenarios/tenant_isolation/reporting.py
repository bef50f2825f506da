"""Evidence for the Allure report: compact summaries of what each check looked at."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import allure

from harness.isolation import Probe


def attach_json(name: str, payload: Any) -> None:
    allure.attach(json.dumps(payload, indent=2, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


def attach_probes(name: str, probes: Sequence[Probe]) -> None:
    """Per table: how many probes passed; then every probe with its SQL and what happened."""
    tables = sorted({p.table for p in probes})
    failed = Counter(p.table for p in probes if not p.passed)
    proven = [t for t in tables if not failed[t]]
    attach_json(name, {
        "tables proven": f"{len(proven)} / {len(tables)}",
        "per table": {t: {"probes": sum(p.table == t for p in probes), "failed": failed[t]} for t in tables},
        "probes": [p.summary() for p in probes],
    })
