"""What the ``harness`` command prints about gates: summary tables and one-line results.

Presentation only, with rich: it reads built packets and catalog entries and writes to the
console it is given, so the CLI stays a thin layer of argument handling.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.gates.assemble import BuiltPacket
from harness.gates.catalog import Catalog
from harness.gates.latest import LatestPacket

__all__ = ["print_catalog", "print_gate_line", "print_gate_summary"]

_STYLE = {"met": "green", "waived": "yellow", "failed": "bold red", "error": "magenta",
          "flaky": "yellow", "missing": "red", "not-applicable": "dim", "GO": "bold green",
          "NO-GO": "bold red"}
_COUNTED = ("met", "waived", "failed", "error", "flaky", "missing", "not-applicable")


def _decision(decision: str | None, width: int = 0) -> Text:
    return Text(f"{decision or '–':<{width}}", style=_STYLE.get(decision or "", "dim"))


def print_gate_summary(console: Console, built: BuiltPacket) -> None:
    verdict = built.verdict
    table = Table(title=f"{verdict.gate.id} · {verdict.gate.name}", title_justify="left",
                  show_lines=False, expand=False)
    table.add_column("Item", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Ran/needed", justify="right", no_wrap=True)
    table.add_column("Why")
    for item in verdict.items:
        counted = sum(1 for v in item.cases if v.counted)
        tests = "doc" if item.item.kind == "document" else f"{counted}/{item.item.min_tests}"
        table.add_row(item.item.id, Text(item.status, style=_STYLE.get(item.status, "")), tests,
                      item.reason)
    console.print(table)
    print_gate_line(console, built)


def print_gate_line(console: Console, built: BuiltPacket) -> None:
    verdict = built.verdict
    counts = " ".join(f"{s} {verdict.count(s)}" for s in _COUNTED if verdict.count(s))
    line = Text.assemble((f"{verdict.gate.id:<4} ", "bold"), _decision(verdict.decision, 5),
                         f"  {verdict.gate.name}: {counts}  ", (str(built.directory / "index.html"), "dim"))
    console.print(line, soft_wrap=True)


def print_catalog(console: Console, catalog: Catalog, latest: Iterable[LatestPacket],
                  packets_root: Path) -> None:
    by_gate = {p.gate: p for p in latest}
    table = Table(title=f"Gate catalog {catalog.path} · packets in {packets_root}", title_justify="left")
    table.add_column("Gate", no_wrap=True)
    table.add_column("Name")
    table.add_column("Items", justify="right", no_wrap=True)
    table.add_column("Latest", no_wrap=True)
    table.add_column("Generated", no_wrap=True)
    table.add_column("Packet", no_wrap=True)
    table.add_column("Signature", no_wrap=True)
    notes = []
    for gate in catalog.gates:
        packet = by_gate.get(gate.id)
        if packet is None or packet.decision is None:
            state = Text("none", style="dim")
            if packet is not None and packet.problem != "no packet yet":
                notes.append(f"{gate.id}: {packet.problem}")
        elif packet.intact:
            state = Text("intact", style="green")
        else:
            state = Text("CHANGED", style="bold red")
            notes.append(f"{gate.id}: {packet.path}: {packet.problem}")
        generated = (packet.generated_at or "")[:16].replace("T", " ") if packet else ""
        signature = Text("–", style="dim")
        if packet is not None and packet.decision is not None:
            signature = Text(packet.signature.upper() if packet.signature == "unsigned" else packet.signature,
                             style="green" if packet.signature == "signed" else "bold yellow")
        table.add_row(gate.id, gate.name, str(len(gate.items)), _decision(packet.decision if packet else None),
                      generated or "–", state, signature)
    console.print(table)
    for note in notes:
        console.print(f"harness: {note}", style="red", soft_wrap=True)
