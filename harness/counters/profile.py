"""The counter suite's load profile: how many workers, races and examples a run spends.

Profiles live in ``fixtures/counters/profiles.yaml`` next to the target spec's repository (the
default profile keeps the family near a minute on two cores); ``HARNESS_COUNTERS_PROFILE``
picks another by name. Values are validated into a frozen :class:`CounterProfile`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

__all__ = ["PROFILE_ENV", "CounterProfile", "load_profile"]

PROFILE_ENV = "HARNESS_COUNTERS_PROFILE"


@dataclass(frozen=True)
class CounterProfile:
    name: str
    race_workers: tuple[int, ...]
    race_repeats: int
    reset_race_repeats: int
    schedule_examples: int
    throughput_workers: tuple[int, ...]
    throughput_seconds: int              # each throughput point's cap
    # a throughput point stops once its rate is stable to this fraction (harness.counters.throughput)
    throughput_tolerance: float = 0.1


def load_profile(path: Path, name: str | None = None) -> CounterProfile:
    """Profile ``name`` (default: ``$HARNESS_COUNTERS_PROFILE`` or ``default``) from ``path``."""
    name = name or os.environ.get(PROFILE_ENV) or "default"
    raw = yaml.safe_load(path.read_text()) or {}
    if name not in raw:
        raise ValueError(f"{path}: no profile {name!r} (fix: one of {sorted(raw)} in {PROFILE_ENV})")
    entry = raw[name]
    values: dict = {"name": name}
    for f in fields(CounterProfile):
        if f.name == "name":
            continue
        if f.name == "throughput_tolerance":
            value = entry.get(f.name, f.default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ValueError(f"{path}: {name}.{f.name} is {value!r} (fix: a fraction between "
                                 "0 and 1, e.g. 0.1)")
            values[f.name] = float(value)
            continue
        value = entry.get(f.name)
        if isinstance(value, list):
            value = tuple(value)
        ok = (isinstance(value, tuple) and value and all(isinstance(v, int) and 1 <= v <= 64 for v in value)) \
            if f.name.endswith("workers") else (isinstance(value, int) and value >= 1)
        if not ok:
            raise ValueError(f"{path}: {name}.{f.name} is {value!r} (fix: a positive integer, or a "
                             "list of worker counts from 1 to 64)")
        values[f.name] = value
    return CounterProfile(**values)
