"""``MANIFEST.sha256``: the packet's seal, in ``sha256sum`` format, bound to its gate and run.

The manifest lists every other file of the packet, one ``<sha256>  <relative path>`` line each,
sorted by path, so ``sha256sum -c MANIFEST.sha256`` works as well as :func:`verify`. Verifying
finds a file whose bytes changed, a file that is gone and a file that was added, and names it.
``MANIFEST.sig`` (:mod:`~harness.gates.signing`) is the one file the manifest cannot list.

Above the file lines, ``#`` lines (which ``sha256sum`` skips) bind the packet to what it is
about: its **gate**, the **target** it ran against, the digest of the **catalog** rules it was
judged by, and the digest of the **results** it was built from. They are what the signature
vouches for in plain words, so a signed GO packet of S11 cannot pass for S10 in another folder,
nor a packet judged by a laxer catalog for one judged by this one: :func:`check_binding` refuses
a packet whose folder, gate or catalog differ.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.gates.catalog import Gate

__all__ = ["MANIFEST", "SIGNATURE", "Binding", "binding_of", "check_binding", "check_folder",
           "gate_rules_sha256",
           "read_binding", "sha256_file", "verify", "write_manifest"]

MANIFEST = "MANIFEST.sha256"
SIGNATURE = "MANIFEST.sig"      # signs the manifest, so it cannot be listed in it (signing.py)
_LINE = re.compile(r"([0-9a-f]{64})  (.+)")
_HEADER = "# gate-harness packet"
_FIELDS = ("gate", "target", "catalog", "results")
_BOUND = re.compile(r"# (gate|target|catalog|results) (\S.*)")


@dataclass(frozen=True)
class Binding:
    gate: str
    target: str            # the target's name, "-" where the results did not say
    catalog: str           # gate_rules_sha256 of the gate the packet was judged by
    results: str           # digest of the results' digests, shard by shard

    def lines(self) -> str:
        return _HEADER + "\n" + "".join(f"# {name} {getattr(self, name)}\n" for name in _FIELDS)


def gate_rules_sha256(gate: Gate) -> str:
    """What decides a gate, digested: its items, kinds, minimum tests, waivability, checks,
    capabilities and thresholds (not prose, file lines or document paths, which move freely)."""
    rules = {"gate": gate.id, "items": [
        {"id": i.id, "kind": i.kind, "min_tests": i.min_tests, "waivable": i.waivable,
         "check": i.check, "capability": i.capability, "stories": list(i.stories),
         "thresholds": [asdict(t) for t in i.thresholds]} for i in gate.items]}
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode("utf-8")).hexdigest()


def binding_of(data: dict[str, Any]) -> Binding:
    """The binding a packet's ``packet.json`` data calls for."""
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    shards = data.get("shards") if isinstance(data.get("shards"), list) else []
    digests = "".join(f"{s.get('results_sha256')}\n" for s in shards if isinstance(s, dict))
    return Binding(gate=_word(data.get("gate")), target=_word(provenance.get("target")),
                   catalog=_word(data.get("catalog_sha256")),
                   results=hashlib.sha256(digests.encode("utf-8")).hexdigest())


def _word(value: Any) -> str:
    text = " ".join(str(value).split()) if value not in (None, "") else "-"
    return text or "-"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and p.relative_to(directory).as_posix() not in (MANIFEST, SIGNATURE))


def _render(binding: Binding | None, entries: dict[str, str]) -> str:
    head = binding.lines() if binding is not None else ""
    return head + "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def _packet_data(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / "packet.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(directory: Path) -> Path:
    """Seals ``directory``, bound to the gate, target, catalog and results its packet.json names."""
    data = _packet_data(directory)
    target = directory / MANIFEST
    target.write_text(_render(binding_of(data) if data is not None else None,
                              {name: sha256_file(directory / name) for name in _files(directory)}),
                      encoding="utf-8", newline="\n")
    return target


def _parse(text: str) -> tuple[Binding | None, dict[str, str], list[str]]:
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    bound: dict[str, str] = {}
    expected: dict[str, str] = {}
    problems = []
    for number, line in enumerate(lines, start=1):
        if line == _HEADER:
            continue
        header = _BOUND.fullmatch(line)
        if header and header.group(1) not in bound and not expected:
            bound[header.group(1)] = header.group(2)
            continue
        match = _LINE.fullmatch(line)
        if not match:
            problems.append(f"{MANIFEST}: line {number} is not '<sha256>  <path>'")
            continue
        expected[match.group(2)] = match.group(1)
    binding = Binding(**bound) if set(bound) == set(_FIELDS) else None
    return binding, expected, problems


def read_binding(directory: Path) -> Binding | None:
    """The binding the manifest records; None where it records none (or cannot be read)."""
    try:
        return _parse((directory / MANIFEST).read_bytes().decode("utf-8"))[0]
    except (OSError, UnicodeDecodeError):
        return None


def verify(directory: str | Path) -> list[str]:
    """Every problem found, each naming a file; an empty list means the packet is intact."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return [f"{MANIFEST}: missing, so nothing in the packet can be trusted"]
    try:
        text = manifest.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{MANIFEST}: cannot be read ({exc})"]
    binding, expected, problems = _parse(text)
    if not problems and text != _render(binding, expected):
        # every byte of the manifest counts too: not only the hashes it lists
        problems.append(f"{MANIFEST}: edited after the packet was written (not as the harness writes it)")
    actual = set(_files(directory))
    for name, digest in expected.items():
        if name not in actual:
            problems.append(f"{name}: listed in the manifest but missing")
        elif sha256_file(directory / name) != digest:
            problems.append(f"{name}: changed after the packet was written")
    problems.extend(f"{name}: added after the packet was written (not in the manifest)"
                    for name in sorted(actual - set(expected)))
    if problems:
        return problems
    data = _packet_data(directory)
    if binding is None:
        return [f"{MANIFEST}: binds the packet to no gate, target, catalog or results (written "
                "by an older harness, or stripped): rebuild the packet"]
    if data is None or binding_of(data) != binding:
        return [f"{MANIFEST}: its binding ({binding.gate}, target {binding.target}) differs from "
                "what packet.json says: the manifest was written for another packet"]
    return []


def check_folder(directory: Path) -> list[str]:
    """A packet sits in the folder named after its gate (``OUT/S03``), nowhere else."""
    binding = read_binding(directory)
    if binding is None:
        return [f"{MANIFEST}: binds the packet to no gate: rebuild the packet"]
    folder = directory.resolve().name
    if folder != binding.gate:
        return [f"the packet is {binding.gate}'s but sits in the folder {folder!r}: a packet "
                f"vouches for its own gate only (move it back to {binding.gate}/)"]
    return []


def check_binding(directory: Path, gate: Gate | None, catalog_path: str = "the catalog") -> list[str]:
    """Problems with where the packet sits and what judged it: the folder must be named after
    its gate, and ``gate`` (from the catalog in use) must have the rules it was judged by."""
    binding = read_binding(directory)
    if binding is None:
        return [f"{MANIFEST}: binds the packet to no gate: rebuild the packet"]
    problems = check_folder(directory)
    if gate is None:
        problems.append(f"gate {binding.gate} is not in {catalog_path}: the packet was built "
                        "against another catalog (pass --catalog naming it)")
    elif gate.id != binding.gate:
        problems.append(f"the packet is {binding.gate}'s, not {gate.id}'s")
    elif gate_rules_sha256(gate) != binding.catalog:
        problems.append(f"{binding.gate} was judged by other rules than {catalog_path} gives it "
                        "(items, minimum tests, thresholds or waivability differ): rebuild the "
                        "packet, or pass --catalog naming the catalog it was built with")
    return problems
