"""The previous release's figures: metrics of a baseline packet (``packet.json``), by name.

``HARNESS_LOAD_BASELINE`` names a previous packet (its folder or its ``packet.json``); each
load metric is recorded under a name unique across the suite (``"GET /v1/work-items p95_ms"``),
so the same name in the baseline is the same measurement of the last release.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.errors import ConfigError

__all__ = ["ENV", "baseline_metrics"]

ENV = "HARNESS_LOAD_BASELINE"


def baseline_metrics(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Metric name -> value from the baseline packet(s); ``{}`` when none is named."""
    raw_path = path if path is not None else os.environ.get(ENV)
    if not raw_path:
        return {}
    file = Path(raw_path)
    if file.is_dir():
        file = file / "packet.json"
    try:
        packet = json.loads(file.read_text(encoding="utf-8"))
        return {str(m["name"]): float(m["value"]) for item in packet["items"]
                for m in item.get("metrics") or []}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(str(file), ENV, f"is not a readable gate packet ({type(exc).__name__})",
                          "name a packet folder written by harness gate (e.g. reports/packets/S11)") from None
