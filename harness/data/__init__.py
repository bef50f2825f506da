"""Where the data the suites feed in comes from: the installed package, or the user's own folder.

Event streams, webhook payloads, the evaluation set and the SLO / rehearsal / recovery / counters
profiles ship inside the distribution, so an installed copy used from another repository has
them. In a checkout ``harness/data/fixtures`` and ``harness/data/loadtests`` are links to the
repository's ``fixtures/`` and ``loadtests/``, where people edit them: a family that adds a data
folder there ships it without touching this package. ``HARNESS_DATA_DIR`` names a folder of the
same layout (``replay/...``, ``loadtests/...``) holding the user's own files; a file it holds
replaces the packaged one, a file it lacks falls back to the package (so a team overrides one
profile without copying the rest). A spec's ``data_dir:`` names such a folder for a target
(:func:`use_spec_data`, called where the spec is loaded); ``HARNESS_DATA_DIR``, set for one run,
wins over it, as ``HARNESS_BACKEND`` wins over the spec's backend.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["ENV", "path", "use_spec_data"]

ENV = "HARNESS_DATA_DIR"
_spec_folder: Path | None = None   # the loaded spec's data_dir


def use_spec_data(folder: Path | None) -> None:
    """The target spec's ``data_dir`` (``None``: it names none): read after HARNESS_DATA_DIR."""
    global _spec_folder
    _spec_folder = folder


def path(relative: str) -> Path:
    """The data file or folder ``relative`` (e.g. ``"retrieval/eval_set.yaml"``).

    The user's copy under ``HARNESS_DATA_DIR`` when it exists there, else the packaged one. A
    path as a family declares its profile (``"fixtures/counters/profiles.yaml"``) works too.
    """
    override = os.environ.get(ENV)
    # the user's folder has the package's layout (recovery/..., loadtests/...): a family's
    # "fixtures/recovery/profiles.yaml" is its "recovery/profiles.yaml"
    bare = relative.removeprefix("fixtures/")
    for folder in (Path(override).expanduser() if override else None, _spec_folder):
        for candidate in ((folder / relative, folder / bare) if folder is not None else ()):
            if candidate.exists():
                return candidate
    # a wheel installs package data as plain files, so the resource is a real path on disk
    package = Path(str(resources.files(__name__)))
    for base in (package / "fixtures", package):   # fixture data, then loadtests/
        if (base / relative).exists():
            return base / relative
    return package / "fixtures" / relative   # missing: the caller's error names this path
