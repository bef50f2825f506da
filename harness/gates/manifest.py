"""``MANIFEST.sha256``: the packet's seal, in ``sha256sum`` format.

The manifest lists every other file of the packet, one ``<sha256>  <relative path>`` line each,
sorted by path, so ``sha256sum -c MANIFEST.sha256`` works as well as :func:`verify`. Verifying
finds a file whose bytes changed, a file that is gone and a file that was added, and names it.
``MANIFEST.sig`` (:mod:`~harness.gates.signing`) is the one file the manifest cannot list.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["MANIFEST", "SIGNATURE", "sha256_file", "verify", "write_manifest"]

MANIFEST = "MANIFEST.sha256"
SIGNATURE = "MANIFEST.sig"      # signs the manifest, so it cannot be listed in it (signing.py)
_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and p.relative_to(directory).as_posix() not in (MANIFEST, SIGNATURE))


def _render(entries: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def write_manifest(directory: Path) -> Path:
    target = directory / MANIFEST
    target.write_text(_render({name: sha256_file(directory / name) for name in _files(directory)}),
                      encoding="utf-8", newline="\n")
    return target


def verify(directory: str | Path) -> list[str]:
    """Every problem found, each naming a file; an empty list means the packet is intact."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return [f"{MANIFEST}: missing, so nothing in the packet can be trusted"]
    expected: dict[str, str] = {}
    problems = []
    try:
        text = manifest.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{MANIFEST}: cannot be read ({exc})"]
    for number, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"),
                                  start=1):
        match = _LINE.fullmatch(line)
        if not match:
            problems.append(f"{MANIFEST}: line {number} is not '<sha256>  <path>'")
            continue
        expected[match.group(2)] = match.group(1)
    if not problems and text != _render(expected):
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
    return problems
