"""Every profile file and profile variable a gate run reads, checked before any suite runs.

The suites read their profiles (load SLOs, recovery, counters, the migration rehearsal, replay)
as they go; a mistake found there would surface as test errors and a NO-GO packet swapped over
the last good one. ``harness gate`` calls :func:`check_profiles` first, so a typo in a profile
or in ``HARNESS_*_PROFILE`` is one line naming the file (or variable), the field and the fix,
exit 2, and the packet on disk stays as it was. Every profile of every file is checked, not
only the one in use: a broken ``ga`` profile is found on the ``ci`` run that precedes it.

The files are the ones the harness's own suites read, found as package data (:func:`harness.data.path`, overridable with
``HARNESS_DATA_DIR``); the rehearsal's may be moved with
``HARNESS_REHEARSAL_PROFILES``. A target that runs only its own suites reads none of them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import data as harness_data
from harness.errors import ConfigError
from harness.profilefile import read_document

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["PROFILE_FILES", "ProfileFile", "check_profiles"]

REHEARSAL_FILE_ENV = "HARNESS_REHEARSAL_PROFILES"


@dataclass(frozen=True)
class ProfileFile:
    family: str
    relative: str                      # under the suites' root
    names: Callable[[Any], list[str]]  # the profile names the document holds
    loader: str                        # "module:function": the family's typed loader (path, name)

    def load(self, path: Path, name: str | None) -> object:
        module, _, function = self.loader.partition(":")
        return getattr(importlib.import_module(module), function)(path, name)


def _top(raw: Any) -> list[str]:
    return [str(k) for k in raw] if isinstance(raw, dict) else []


def _under_profiles(raw: Any) -> list[str]:
    return _top(raw.get("profiles")) if isinstance(raw, dict) else []


PROFILE_FILES = (
    ProfileFile("load", "loadtests/slo.yaml", _under_profiles, "harness.load.profiles:load_profile"),
    ProfileFile("recovery", "fixtures/recovery/profiles.yaml", _top,
                "harness.recovery.profiles:load_profile"),
    ProfileFile("counters", "fixtures/counters/profiles.yaml", _top,
                "harness.counters.profile:load_profile"),
    ProfileFile("rehearsal", "fixtures/rehearsal/profiles.yaml", _under_profiles,
                "harness.rehearsal.profile:load_config"),
)


def check_profiles(target: TargetSpec | None = None, root: Path | None = None) -> int:
    """Raises the first ConfigError of any profile the run would read; returns how many were read."""
    from harness.replay.profiles import active_profile

    if target is not None and not target.harness_suites:
        return 0
    active_profile()                      # HARNESS_REPLAY_PROFILE: a variable, no file
    checked = 0
    for entry in PROFILE_FILES:
        path = _path(entry, root)
        if path is None:
            continue
        for name in entry.names(read_document(path, f"see {entry.relative}")):
            entry.load(path, name)
            checked += 1
        entry.load(path, None)            # the one the environment picks must be there too
    return checked


def _path(entry: ProfileFile, root: Path | None) -> Path | None:
    if entry.family == "rehearsal" and os.environ.get(REHEARSAL_FILE_ENV):
        path = Path(os.environ[REHEARSAL_FILE_ENV])
        if not path.is_file():
            raise ConfigError(f"{REHEARSAL_FILE_ENV} (environment)", str(path), "no file there",
                              "name the rehearsal profiles file, or unset it")
        return path
    if root is None:                      # the packaged data, or the user's HARNESS_DATA_DIR copy
        path = harness_data.path(entry.relative)
        return path if path.is_file() else None
    if not (root / entry.relative).is_file():
        return None                       # suites installed without their data: they say so
    return root / entry.relative
