"""Reading EXPLAIN (FORMAT JSON) plans: which nodes scan a whole table.

A keyset list query bound to one workspace must be served by an index on ``(workspace_id, ...)``;
a sequential scan reads every tenant's rows to throw most of them away.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["plan_nodes", "sequential_scans"]


def plan_nodes(plan: Any) -> Iterator[Mapping[str, Any]]:
    """Every node of a plan as PostgreSQL's JSON format gives it (a list holding {"Plan": ...})."""
    stack = [entry["Plan"] for entry in plan] if isinstance(plan, list) else [plan.get("Plan", plan)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("Plans", ()))


def sequential_scans(plan: Any) -> list[str]:
    """The relations a plan reads with a Seq Scan."""
    return sorted(str(n.get("Relation Name", "?")) for n in plan_nodes(plan)
                  if n.get("Node Type") == "Seq Scan")
