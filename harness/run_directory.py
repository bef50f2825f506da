"""The run directory: the private folder every process of one test run shares.

It holds the server record, the run's owner and its children's records. Both the database
lifecycle (:mod:`harness.lifecycle`) and the child-process registry (:mod:`harness.children`)
use it, so it lives below both of them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import psutil

__all__ = ["RUN_PREFIX", "claim_run_directory", "process_identity", "run_directory"]

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
