"""The previous release's figures: the metrics of a baseline packet (``packet.json``), by name.

A family that compares with the last release names an environment variable holding a previous
packet (its folder or its ``packet.json``): ``HARNESS_LOAD_BASELINE`` for the load SLOs,
``HARNESS_RETRIEVAL_BASELINE`` for retrieval relevance. Each metric is recorded under a name
unique across its suite, so the same name in the baseline is the same measurement of the last
release. ``harness gate`` points these variables at the gate's previous packet when one exists
(``--no-baseline`` skips it); an explicit variable always wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.errors import ConfigError

__all__ = ["BASELINE_GATES", "baseline_metrics"]

# the variable each family reads -> the gate whose previous packet holds its metrics
BASELINE_GATES = {"HARNESS_LOAD_BASELINE": "S11", "HARNESS_RETRIEVAL_BASELINE": "S07"}


def baseline_metrics(env: str, path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Metric name -> value from the packet ``path`` (else ``$env``); ``{}`` when none is named."""
    raw_path = path if path is not None else os.environ.get(env)
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
        raise ConfigError(str(file), env, f"is not a readable gate packet ({type(exc).__name__})",
                          "name a packet folder written by harness gate (e.g. reports/packets/S11)") from None
