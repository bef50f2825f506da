"""The counter suite's load profiles: the shipped ones load, a bad one says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.counters.profile import PROFILE_ENV, load_profile
from harness.errors import ConfigError

PROFILES = Path(__file__).resolve().parents[2] / "fixtures" / "counters" / "profiles.yaml"


def test_the_default_profile_races_two_to_sixty_four_workers(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    profile = load_profile(PROFILES)
    assert profile.name == "default"
    assert min(profile.race_workers) == 2 and max(profile.race_workers) == 64
    assert profile.throughput_workers == (1, 8, 32)


def test_the_environment_picks_the_thorough_profile(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "thorough")
    profile = load_profile(PROFILES)
    assert profile.name == "thorough" and profile.schedule_examples > load_profile(PROFILES, "default").schedule_examples


def test_a_bad_profile_names_the_field_and_the_fix(tmp_path):
    bad = tmp_path / "profiles.yaml"
    bad.write_text("default: {race_workers: [2, 128], race_repeats: 1, reset_race_repeats: 1,\n"
                   "  schedule_examples: 1, throughput_workers: [1], throughput_seconds: 1}\n")
    with pytest.raises(ConfigError, match=r"default\.race_workers\[1\]: .*fix"):
        load_profile(bad, "default")
    with pytest.raises(ConfigError, match="fast: no such profile"):
        load_profile(bad, "fast")
