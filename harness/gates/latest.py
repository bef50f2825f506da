"""The latest packet of each gate under a packets folder, for ``harness gates``.

A decision is only worth listing if the packet still says what it said when it was written,
so each packet's manifest is verified on the way; a packet that fails is listed as changed. Its
signature is looked at too: an unsigned packet is listed as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.gates.manifest import verify

__all__ = ["LatestPacket", "latest_packet"]


@dataclass(frozen=True)
class LatestPacket:
    gate: str
    path: Path
    decision: str | None          # None: no readable packet
    generated_at: str | None
    intact: bool
    problem: str = ""
    signature: str = "unsigned"


def latest_packet(packets_root: Path, gate_id: str) -> LatestPacket:
    directory = packets_root / gate_id
    file = directory / "packet.json"
    if not file.is_file():
        return LatestPacket(gate_id, directory, None, None, False, "no packet yet")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return LatestPacket(gate_id, directory, None, None, False, f"packet.json unreadable ({exc})")
    problems = verify(directory)
    decision = data.get("decision") if isinstance(data, dict) else None
    generated = data.get("generated_at") if isinstance(data, dict) else None
    return LatestPacket(gate_id, directory, str(decision) if decision else None,
                        str(generated) if generated else None, not problems,
                        problems[0] if problems else "", _signature(directory))


def _signature(directory: Path) -> str:
    from harness.gates.signing import signature_state

    try:
        state = signature_state(directory)
    except HarnessError as exc:
        return f"unknown ({exc})"
    return "signed" if state.signed else state.detail
