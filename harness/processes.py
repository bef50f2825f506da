"""Starting and stopping a child process the harness runs: recorded first, stopped by its handle.

:func:`start_process` records the child in the run's state before it starts and marks its
environment (:mod:`harness.children`), so a run killed outright leaves nothing the next run
cannot find. :func:`stop_process` sends SIGTERM first, then SIGKILL if it lingers past the grace
period, always reaps it and then drops its record, so a uvicorn server or a locust process never
outlives the test that started it. Never by name.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from harness.children import ChildRecord, record_child

__all__ = ["start_process", "stop_process"]

_records: dict[int, ChildRecord] = {}


def start_process(command: list[str], what: str, **popen: Any) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen)``, recorded as ``what`` before it starts."""
    record = record_child("process", what)
    popen["env"] = {**(popen.get("env") or os.environ), **record.marker}
    try:
        process = subprocess.Popen(command, **popen)
    except BaseException:
        record.forget()
        raise
    record.started(process.pid)
    _records[process.pid] = record
    return process


def stop_process(process: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminates ``process`` (if still running), kills it after ``grace_s``, and reaps it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace_s)
    record = _records.pop(process.pid, None)
    if record is not None:
        record.forget()
