"""Every profile file and profile variable a gate run reads, checked before any suite runs.

The suites read their profiles (load SLOs, recovery, counters, the migration rehearsal, replay)
as they go; a mistake found there would surface as test errors and a NO-GO packet swapped over
the last good one. ``harness gate`` calls :func:`check_profiles` first, so a typo in a profile
or in ``HARNESS_*_PROFILE`` is one line naming the file (or variable), the field and the fix,
exit 2, and the packet on disk stays as it was. Every profile of every file is checked, not
only the one in use: a broken ``ga`` profile is found on the ``ci`` run that precedes it.

The files are the ones the families declare (``Family.profile`` with its ``profile_loader``
in :mod:`harness.families`), found as package data (:func:`harness.data.path`, overridable
with ``HARNESS_DATA_DIR``); a family's ``profile_file_env`` (the rehearsal's
``HARNESS_REHEARSAL_PROFILES``) may move its file. A target that runs only its own suites
reads none of them.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import data as harness_data
from harness.errors import ConfigError
from harness.families import families
from harness.profilefile import read_document

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["ProfileFile", "check_profiles", "profile_files"]


@dataclass(frozen=True)
class ProfileFile:
    family: str
    relative: str                      # under the suites' root
    loader: str                        # "module:function": the family's typed loader (path, name)
    file_env: str | None = None        # a variable naming another file of the same shape

    def names(self, raw: Any) -> list[str]:
        """The profile names the document holds: under ``profiles:`` when it has that key
        (its other keys are settings, e.g. ``default: ci``), else its top-level keys."""
        if not isinstance(raw, dict):
            return []
        if "profiles" in raw:
            raw = raw["profiles"]
        return [str(k) for k in raw] if isinstance(raw, dict) else []

    def load(self, path: Path, name: str | None) -> object:
        module, _, function = self.loader.partition(":")
        return getattr(importlib.import_module(module), function)(path, name)


def profile_files() -> tuple[ProfileFile, ...]:
    """The profile file of every family that declares one with a loader (the registry's
    ``Family.profile`` and ``Family.profile_loader``), in the registry's order."""
    return tuple(ProfileFile(f.name, f.profile, f.profile_loader, f.profile_file_env)
                 for f in families() if f.profile is not None and f.profile_loader is not None)


def check_profiles(target: TargetSpec | None = None, root: Path | None = None) -> int:
    """Raises the first ConfigError of any profile the run would read; returns how many were read."""
    from harness.replay.profiles import active_profile

    if target is not None and not target.harness_suites:
        return 0
    active_profile()                      # HARNESS_REPLAY_PROFILE: a variable, no file
    checked = 0
    for entry in profile_files():
        path = _path(entry, root)
        if path is None:
            continue
        for name in entry.names(read_document(path, f"see {entry.relative}")):
            entry.load(path, name)
            checked += 1
        entry.load(path, None)            # the one the environment picks must be there too
    return checked


def _path(entry: ProfileFile, root: Path | None) -> Path | None:
    if entry.file_env and os.environ.get(entry.file_env):
        path = Path(os.environ[entry.file_env])
        if not path.is_file():
            raise ConfigError(f"{entry.file_env} (environment)", str(path), "no file there",
                              f"name a file shaped like {entry.relative}, or unset it")
        return path
    if root is None:                      # the packaged data, or the user's HARNESS_DATA_DIR copy
        path = harness_data.path(entry.relative)
        return path if path.is_file() else None
    if not (root / entry.relative).is_file():
        return None                       # suites installed without their data: they say so
    return root / entry.relative
