"""Shards: the results directories one packet is built from, sealed and checked for consistency.

A CI matrix runs the suites in several jobs, each writing its own allure-results with the
plugin's provenance record. A packet may combine them only when they describe one thing: every
shard must come from the same target and the same commit of it (a shard that says nothing
about either is accepted and its gap shown). Each shard keeps its own provenance in the packet,
and the **digest of its results** (SHA-256 over every file's name and SHA-256, in name order) is
recorded in ``packet.json`` and file by file in ``results.sha256``, both sealed by the manifest:
whoever holds the results can show they are the ones the packet was built from.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.gates.manifest import sha256_file
from harness.provenance import Provenance, packet_provenance

if TYPE_CHECKING:
    from harness.gates.redaction import Redactor
    from harness.target import TargetSpec

__all__ = ["RESULTS_SEAL", "Shard", "check_consistent", "describe_shards", "results_seal"]

RESULTS_SEAL = "results.sha256"


@dataclass(frozen=True)
class Shard:
    label: str                # how the packet names this results directory
    results_sha256: str       # digest of every file of the directory (see the module docstring)
    files: int
    provenance: Provenance


def _file_digests(directory: Path) -> dict[str, str]:
    base = directory.resolve()
    with os.scandir(base) as entries:
        files = sorted((e.name, e.stat(follow_symlinks=False)) for e in entries
                       if e.is_file(follow_symlinks=False))
    return {name: _digest(str(base / name), st.st_ino, st.st_size, st.st_mtime_ns) for name, st in files}


@functools.lru_cache(maxsize=65536)
def _digest(path: str, inode: int, size: int, mtime_ns: int) -> str:
    """A file's sha256, read once for as long as the file is unchanged: ``harness gate --all``
    seals the same results directory into twelve packets, twice each (664 files, 0.7 s of CPU)."""
    return sha256_file(Path(path))


def _labels(directories: tuple[Path, ...]) -> list[str]:
    names = [d.resolve().name or "results" for d in directories]
    return [name if names.count(name) == 1 else f"{index + 1}-{name}"
            for index, name in enumerate(names)]


def describe_shards(directories: tuple[Path, ...], recorded: tuple[dict[str, Any] | None, ...],
                    target: TargetSpec | None, redactor: Redactor) -> tuple[Shard, ...]:
    seen: dict[Path, Path] = {}
    for directory in directories:
        real = directory.resolve()
        if real in seen:
            raise ConfigError(str(directory), "--results", f"names the same directory as {seen[real]}",
                              "pass each shard's results directory once")
        seen[real] = directory
    shards = []
    for label, directory, record in zip(_labels(directories), directories, recorded, strict=True):
        digests = _file_digests(directory)
        digest = hashlib.sha256("".join(f"{name}\0{sha}\n" for name, sha in digests.items())
                                .encode("utf-8")).hexdigest()
        shards.append(Shard(label, digest, len(digests), packet_provenance(record, target, redactor)))
    check_consistent(directories, tuple(shards))
    return tuple(shards)


def check_consistent(directories: tuple[Path, ...], shards: tuple[Shard, ...]) -> None:
    """Refuses shards that come from different targets or different commits, in one line."""
    for fld, what in (("target", "targets"), ("target_commit", "commits of the target")):
        known = [(d, getattr(s.provenance, fld)) for d, s in zip(directories, shards, strict=True)
                 if getattr(s.provenance, fld)]
        values = {value for _, value in known}
        if len(values) > 1:
            (first, a), (other, b) = known[0], next(k for k in known if k[1] != known[0][1])
            raise ConfigError(str(other), f"harness-provenance.json {fld}",
                              f"{b!r} differs from {a!r} in {first}: shards from different {what} "
                              "cannot make one packet", "build the packet from shards of one run")


def results_seal(directories: tuple[Path, ...], shards: tuple[Shard, ...]) -> str:
    """``results.sha256``: every results file, ``sha256sum`` format, under its shard's label."""
    lines = []
    for directory, shard in zip(directories, shards, strict=True):
        lines += [f"{sha}  {shard.label}/{name}\n" for name, sha in _file_digests(directory).items()]
    return "".join(lines)
