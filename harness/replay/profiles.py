"""Hypothesis settings of the replay family: a modest ``ci`` default, more on request.

``HARNESS_REPLAY_PROFILE=thorough`` (or ``ci``, the default) picks the profile. Both are
derandomized, so a run is reproducible and a known-bad target is caught on every run, and keep
no example database in the working tree. Examples hit a real database, so there is no deadline.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

from harness.errors import ConfigError

__all__ = ["PROFILE_ENV", "PROFILES", "active_profile", "replay_settings", "rounds"]

PROFILE_ENV = "HARNESS_REPLAY_PROFILE"
PROFILES = ("ci", "thorough")
# no explain phase: it re-runs many variations of a failing example against the database
# just to annotate it, which costs minutes; the shrunk history says what happened
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
_COMMON = dict(deadline=None, database=None, derandomize=True, print_blob=True, phases=_PHASES,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
settings.register_profile("replay-ci", max_examples=25, stateful_step_count=10, **_COMMON)
settings.register_profile("replay-thorough", max_examples=200, stateful_step_count=40, **_COMMON)


def active_profile() -> str:
    """``$HARNESS_REPLAY_PROFILE`` (default ``ci``); any other name is a ConfigError."""
    name = os.environ.get(PROFILE_ENV) or "ci"
    if name not in PROFILES:
        raise ConfigError("environment", f"{PROFILE_ENV}={name!r}", "is not a replay profile",
                          f"set {PROFILE_ENV} to one of {', '.join(PROFILES)}, or unset it")
    return name


def replay_settings(**overrides: object) -> settings:
    """The active replay profile, with ``overrides`` (e.g. ``max_examples``) on top."""
    return settings(settings.get_profile(f"replay-{active_profile()}"), **overrides)


def rounds(ci: int, thorough: int) -> int:
    """How many times a race repeats under the active profile."""
    return thorough if active_profile() == "thorough" else ci
