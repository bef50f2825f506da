"""A live API server: the spec's ASGI app under uvicorn, on 127.0.0.1, started and stopped by PID.

:func:`live_server` starts ``python -m uvicorn <spec.api.asgi>`` on a free loopback port with the
environment the target gives (``ApiTarget.api_environment``: how the app reaches its database),
waits until ``/openapi.json`` answers, yields the base URL, and on exit terminates that one
process (then kills it if it lingers) and reaps it, so no server outlives the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.errors import ConfigError
from harness.processes import start_process, stop_process

__all__ = ["free_port", "live_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(asgi: str | None, env: Mapping[str, str], cwd: Path, *, where: str = "target spec",
                startup_timeout: float = 30.0) -> Iterator[str]:
    """``asgi`` (``module:attr``) served by uvicorn on loopback; yields ``http://127.0.0.1:PORT``."""
    if not asgi:
        raise ConfigError(where, "api.asgi", "is not set, so no server can be started",
                          "set api: {asgi: package.module:app} in the spec")
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", asgi, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    process = start_process(command, f"API server (uvicorn {asgi})", cwd=cwd,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, base_url, startup_timeout)
        yield base_url
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen, base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace")[-1500:] if process.stderr else ""
            raise RuntimeError(f"the API server exited with {process.returncode} before answering:\n{err}")
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API server (pid {process.pid}) did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    stop_process(process)
    if process.stderr:
        process.stderr.close()
