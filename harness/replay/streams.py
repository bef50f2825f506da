"""Event streams as data: fixture files of event templates, turned into envelopes for a workspace.

A stream file (YAML, under ``fixtures/replay/``) lists events by ``event_type``, ``version`` and
``payload``; :func:`envelope` gives one a fresh ``event_id``, the workspace, a correlation id and
``occurred_at``, so the same stream can be published into any number of fresh workspaces.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

__all__ = ["envelope", "load_yaml"]


def load_yaml(path: Path, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` in a fixture file; a ValueError names the file and the field."""
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list) or not raw[key]:
        raise ValueError(f"{path}: field {key!r} must be a non-empty list (fix the fixture file)")
    return raw[key]


def envelope(workspace: Any, template: Mapping[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": template["event_type"],
        "workspace_id": str(workspace),
        "correlation_id": correlation_id or f"corr-{uuid.uuid4().hex[:12]}",
        "version": int(template.get("version", 1)),
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": dict(template.get("payload", {})),
    }
