"""Stopping a child process the harness started: by its own handle, never by name.

SIGTERM first, then SIGKILL if it lingers past the grace period, and always reaped, so a
uvicorn server or a locust process never outlives the test that started it.
"""

from __future__ import annotations

import subprocess

__all__ = ["stop_process"]


def stop_process(process: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminates ``process`` (if still running), kills it after ``grace_s``, and reaps it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace_s)
