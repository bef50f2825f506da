"""The latest packet of each gate under a packets folder, for ``harness gates``.

A decision is only worth listing if the packet still says what it said when it was written,
so each packet's manifest is verified on the way; a packet that fails is listed as changed. It
must also be that gate's packet, judged by the catalog's rules for it (a packet of S11 copied
into S10/ is refused), and a signature that does not match its manifest makes it changed too;
an unsigned packet is listed as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.gates.manifest import check_binding, verify

if TYPE_CHECKING:
    from harness.gates.catalog import Gate

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


def latest_packet(packets_root: Path, gate_id: str, gate: Gate | None = None,
                  catalog_path: str = "the catalog") -> LatestPacket:
    """The packet in ``packets_root/gate_id``; with ``gate`` (the catalog's), checked against it."""
    directory = packets_root / gate_id
    file = directory / "packet.json"
    if not file.is_file():
        return LatestPacket(gate_id, directory, None, None, False, "no packet yet")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return LatestPacket(gate_id, directory, None, None, False, f"packet.json unreadable ({exc})")
    problems = verify(directory)
    if not problems and gate is not None:
        problems = check_binding(directory, gate, catalog_path)
    signature, broken = _signature(directory)
    if broken and not problems:
        problems = [broken]
    decision = data.get("decision") if isinstance(data, dict) else None
    generated = data.get("generated_at") if isinstance(data, dict) else None
    return LatestPacket(gate_id, directory, str(decision) if decision else None,
                        str(generated) if generated else None, not problems,
                        problems[0] if problems else "", signature)


def _signature(directory: Path) -> tuple[str, str]:
    """What to list in the signature column, and the problem of a broken signature."""
    from harness.gates.signing import signature_state

    try:
        state = signature_state(directory)
    except HarnessError as exc:
        return f"unknown ({exc})", ""
    if state.broken:
        return "BROKEN", state.detail
    return ("signed" if state.signed else state.detail), ""
