"""What a run killed outright left behind, found and removed by the next run.

A run that is interrupted cleans up after itself (the plugin turns SIGTERM into the same orderly
stop as Ctrl-C). A run that is SIGKILLed cannot: its postmaster keeps running, its ``harness_*``
databases stay on a shared server, and its ``server.json`` (with the run's passwords, mode 0600)
stays in the temp dir. The next run's controller, and ``harness doctor``, look for run
directories (``harness-run-*``) whose owners are all dead: the controller that claimed the run
and every process that held a reference, each recognised by PID *and* start time so a recycled
PID does not count as alive. Such a run is stale; :func:`remove` stops its postmaster (by the
recorded PID, only while that PID is still a postgres serving the recorded data directory),
drops its databases on a shared server, stops and removes every other child the run recorded
before starting it (rehearsal and recovery clusters, uvicorn, locust, their folders:
:mod:`harness.children`), and deletes the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from harness.backends import ServerState
from harness.children import describe_children, reap_children
from harness.run_directory import RUN_PREFIX, held_if_present

__all__ = ["StaleRun", "find_stale_runs", "reap_stale_runs", "remove"]

# a run directory with no owner recorded yet is being created; leave it alone this long
GRACE_SECONDS = 600


@dataclass(frozen=True)
class StaleRun:
    directory: Path
    backend: str | None          # None: the run died before its server was recorded
    postmaster: int | None       # the recorded postmaster PID, while it still runs
    holds_secrets: bool          # server.json is still on disk
    children: tuple[str, ...] = ()   # what its records of other children still name

    def describe(self) -> str:
        parts = [f"stale run {self.directory.name}"]
        if self.postmaster is not None:
            parts.append(f"postmaster {self.postmaster} still running")
        elif self.backend:
            parts.append(f"{self.backend} server recorded")
        if self.holds_secrets:
            parts.append("server.json with its passwords on disk")
        parts.extend(self.children)
        return ", ".join(parts)


def find_stale_runs(tmpdir: Path | None = None) -> list[StaleRun]:
    """Run directories under the temp dir whose owning processes are all dead."""
    base = Path(tmpdir or tempfile.gettempdir())
    found = []
    for directory in sorted(base.glob(f"{RUN_PREFIX}*")):
        if not directory.is_dir() or directory.is_symlink():
            continue
        try:
            stale = _stale(directory)
        except (OSError, ValueError, KeyError):
            continue  # not ours to judge (unreadable, another user's)
        if stale is not None:
            found.append(stale)
    return found


def remove(stale: StaleRun) -> bool:
    """Stops what the stale run left and deletes its directory; False if it came back to life."""
    with held_if_present(stale.directory) as held:
        if not held:
            return False  # some live process is working in it, or another reaper removed it
        if _stale(stale.directory) is None:
            return False
        record = _read(stale.directory / "server.json")
        if record:
            _stop_recorded(ServerState.from_json(record["server"]), stale.directory)
        _stop_unrecorded(stale.directory)
        reap_children(stale.directory)
    shutil.rmtree(stale.directory, ignore_errors=True)
    return True


def reap_stale_runs(tmpdir: Path | None = None) -> list[StaleRun]:
    """Finds and removes stale runs; returns the ones removed."""
    return [stale for stale in find_stale_runs(tmpdir) if remove(stale)]


def _stale(directory: Path) -> StaleRun | None:
    record = _read(directory / "server.json")
    owners = list((record or {}).get("owners", []))
    # a record written without owners (an older harness) still names its processes in refs
    owners += [{"pid": pid, "started": None} for pid in (record or {}).get("refs", [])]
    owner = _read(directory / "owner.json")
    if owner is not None:
        owners.append(owner)
    if not owners and time.time() - directory.stat().st_mtime < GRACE_SECONDS:
        return None
    if any(_alive(o) for o in owners):
        return None
    state = ServerState.from_json(record["server"]) if record else None
    postmaster = None
    if state is not None and state.backend in ("embedded", "system"):
        postmaster = _postmaster(int(state.handle["pid"]), state.handle["pgdata"])
    return StaleRun(directory, state.backend if state else None, postmaster, record is not None,
                    tuple(describe_children(directory)))


def _alive(owner: dict[str, Any]) -> bool:
    try:
        proc = psutil.Process(int(owner["pid"]))
        started = owner.get("started")
        return started is None or abs(proc.create_time() - float(started)) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError, KeyError):
        return False


def _postmaster(pid: int, pgdata: str) -> int | None:
    """``pid`` while it is a postgres serving ``pgdata``; never any other process."""
    try:
        proc = psutil.Process(pid)
        if proc.name() == "postgres" and pgdata in " ".join(proc.cmdline()):
            return pid
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def _stop_recorded(state: ServerState, directory: Path) -> None:
    if state.backend in ("embedded", "system"):   # one stop for both: the state names its bindir
        from harness.backends.embedded import EmbeddedBackend

        EmbeddedBackend().stop(state)
    elif state.backend == "docker":
        from harness.backends.docker import DockerBackend

        with contextlib.suppress(Exception):
            DockerBackend(state.handle.get("image", "")).stop(state)
    elif state.backend == "dsn":
        tag = "".join(ch for ch in directory.name[len(RUN_PREFIX):].lower() if ch.isalnum())[:10]
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(state.admin.conninfo(), autocommit=True, connect_timeout=5) as admin:
            names = admin.execute("select datname from pg_database where datname like %s",
                                  (f"harness\\_{tag}\\_%",)).fetchall()
            for (name,) in names:
                admin.execute(sql.SQL("drop database if exists {} with (force)")
                              .format(sql.Identifier(name)))


def _stop_unrecorded(directory: Path) -> None:
    """A postmaster started (or a cache rebuilt) before the run could record it."""
    from harness.backends.embedded import SYSTEM_USER, EmbeddedBackend, remove_pgdata

    pgdata = directory / "server" / "pgdata"
    pid_file = pgdata / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = _postmaster(int(pid_file.read_text().splitlines()[0]), str(pgdata))
        if pid is not None:
            state = ServerState("embedded", admin=None,  # type: ignore[arg-type]
                                handle={"pgdata": str(pgdata), "pid": pid,
                                        "workdir": str(directory / "server"),
                                        "run_as": SYSTEM_USER if os.geteuid() == 0 else None})
            EmbeddedBackend().stop(state)
    with contextlib.suppress(OSError):
        remove_pgdata(pgdata)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return {}
