"""The run directory: the private folder every process of one test run shares.

It holds the server record, the run's owner and its children's records. Both the database
lifecycle (:mod:`harness.lifecycle`) and the child-process registry (:mod:`harness.children`)
use it, so it lives below both of them.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

__all__ = ["RUN_PREFIX", "claim_run_directory", "held_if_present", "process_identity", "run_directory"]

RUN_PREFIX = "harness-run-"


def run_directory(run_id: str) -> Path:
    """The directory every process of one test run shares."""
    path = Path(tempfile.gettempdir()) / f"{RUN_PREFIX}{run_id}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def claim_run_directory(run_id: str) -> Path:
    """Creates the run directory and records this process (the run's controller) as its owner."""
    path = run_directory(run_id)
    (path / "owner.json").write_text(json.dumps(process_identity(os.getpid())))
    return path


def process_identity(pid: int) -> dict[str, Any]:
    """A PID with its start time, so a recycled PID is not mistaken for a live owner."""
    try:
        return {"pid": pid, "started": psutil.Process(pid).create_time()}
    except psutil.NoSuchProcess:
        return {"pid": pid, "started": None}


@contextmanager
def held_if_present(folder: Path) -> Iterator[bool]:
    """Holds ``folder``'s run lock (``<folder>/lock``, the POSIX record lock the run's processes
    take through :class:`fasteners.InterProcessLock`) without ever making ``folder``: True while
    held; False when the folder is gone or a live process holds the lock. fasteners makes a
    missing folder, so a reaper that came second to a run another had just removed made it
    again, empty but for the lock file, for the next runs to race for."""
    try:
        handle = open(folder / "lock", "a")  # noqa: SIM115  (closed below, after the unlock)
    except (FileNotFoundError, NotADirectoryError):
        yield False
        return
    with handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)
