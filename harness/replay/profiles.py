"""Hypothesis settings of the replay family: a modest ``ci`` default, more on request.

``HARNESS_REPLAY_PROFILE=thorough`` (or ``ci``, the default) picks the profile. Both are
derandomized, so a run is reproducible and a known-bad target is caught on every run, and keep
no example database in the working tree. Examples hit a real database, so there is no deadline.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILE_ENV", "replay_settings", "rounds"]

PROFILE_ENV = "HARNESS_REPLAY_PROFILE"
# no explain phase: it re-runs many variations of a failing example against the database
# just to annotate it, which costs minutes; the shrunk history says what happened
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
_COMMON = dict(deadline=None, database=None, derandomize=True, print_blob=True, phases=_PHASES,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
settings.register_profile("replay-ci", max_examples=25, stateful_step_count=10, **_COMMON)
settings.register_profile("replay-thorough", max_examples=200, stateful_step_count=40, **_COMMON)


def replay_settings(**overrides: object) -> settings:
    """The active replay profile, with ``overrides`` (e.g. ``max_examples``) on top."""
    name = os.environ.get(PROFILE_ENV, "ci")
    if name not in ("ci", "thorough"):
        raise ValueError(f"{PROFILE_ENV}={name!r}: use 'ci' or 'thorough'")
    return settings(settings.get_profile(f"replay-{name}"), **overrides)


def rounds(ci: int, thorough: int) -> int:
    """How many times a race repeats under the active profile."""
    return thorough if os.environ.get(PROFILE_ENV, "ci") == "thorough" else ci
