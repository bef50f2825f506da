"""The counter suite's load profile: how many workers, races and examples a run spends.

Profiles live in ``fixtures/counters/profiles.yaml`` next to the target spec's repository (the
default profile keeps the family near a minute on two cores); ``HARNESS_COUNTERS_PROFILE``
picks another by name. The file is read by :mod:`harness.profilefile` into a frozen
:class:`CounterProfile`: a mistyped or out-of-range field is one line naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.profilefile import bounds, build, choose, read_document

__all__ = ["PROFILE_ENV", "CounterProfile", "load_profile"]

PROFILE_ENV = "HARNESS_COUNTERS_PROFILE"
_WORKERS = bounds(1, 64)   # connections released together: past 64 the server's slots run out


@dataclass(frozen=True)
class CounterProfile:
    name: str
    race_workers: tuple[int, ...] = field(metadata=_WORKERS)
    race_repeats: int = field(metadata=bounds(1))
    reset_race_repeats: int = field(metadata=bounds(1))
    schedule_examples: int = field(metadata=bounds(1))
    throughput_workers: tuple[int, ...] = field(metadata=_WORKERS)
    throughput_seconds: int = field(metadata=bounds(1))


def load_profile(path: Path, name: str | None = None) -> CounterProfile:
    """Profile ``name`` (default: ``$HARNESS_COUNTERS_PROFILE`` or ``default``) from ``path``."""
    where = str(path)
    raw = read_document(path, "see fixtures/counters/profiles.yaml")
    name, entry = choose(where, raw, "", name, PROFILE_ENV, "default")
    return build(CounterProfile, entry, where, name, fixed={"name": name})
