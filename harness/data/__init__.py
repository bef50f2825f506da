"""Where the data the suites feed in comes from: the installed package, or the user's own folder.

Event streams, webhook payloads, the evaluation set and the SLO / rehearsal / recovery / counters
profiles ship inside the distribution, so an installed copy used from another repository has
them. In a checkout ``harness/data/fixtures`` and ``harness/data/loadtests`` are links to the
repository's ``fixtures/`` and ``loadtests/``, where people edit them: a family that adds a data
folder there ships it without touching this package. ``HARNESS_DATA_DIR`` names a folder of the
same layout (``replay/...``, ``loadtests/...``) holding the user's own files; a file it holds
replaces the packaged one, a file it lacks falls back to the package (so a team overrides one
profile without copying the rest).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["ENV", "path"]

ENV = "HARNESS_DATA_DIR"


def path(relative: str) -> Path:
    """The data file or folder ``relative`` (e.g. ``"retrieval/eval_set.yaml"``).

    The user's copy under ``HARNESS_DATA_DIR`` when it exists there, else the packaged one. A
    path as a family declares its profile (``"fixtures/counters/profiles.yaml"``) works too.
    """
    override = os.environ.get(ENV)
    if override:
        candidate = Path(override).expanduser() / relative
        if candidate.exists():
            return candidate
    # a wheel installs package data as plain files, so the resource is a real path on disk
    package = Path(str(resources.files(__name__)))
    for base in (package / "fixtures", package):   # fixture data, then loadtests/
        if (base / relative).exists():
            return base / relative
    return package / "fixtures" / relative   # missing: the caller's error names this path
