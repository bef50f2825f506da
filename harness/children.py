"""What a run starts, recorded in the run's state before it starts, so the next run can stop it.

A run killed outright (SIGKILL) runs no ``finally``: whatever it started keeps running. The run's
main server is in ``server.json`` (:mod:`harness.lifecycle`); everything else a run starts (the
recovery and rehearsal clusters, uvicorn, locust, the folders they write) gets a record in the
run directory's ``children/`` **before** it starts:

- a postmaster is recorded by its data directory, whose ``postmaster.pid`` names it once it
  runs (and only a ``postgres`` process serving that directory is ever taken for it);
- any other process is recorded with a marker (``HARNESS_CHILD=<record>``) put into its
  environment, so it is found even if the run dies between starting it and writing its PID;
- folders (a rehearsal's archive, backups, restored copy) are recorded to be removed.

:func:`reap_children` stops and removes what a dead run's records name: the next run calls it
through :mod:`harness.leftovers` (and ``harness doctor --reap``), and :func:`scratch_dir` calls
it on the way out of a rehearsal, so an interrupt (SIGINT, SIGTERM) cleans up at once.
Outside a pytest run (no ``HARNESS_RUN_ID``) the records go to a run directory of this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from harness.run_directory import claim_run_directory, run_directory

__all__ = ["CHILD_ENV", "ChildRecord", "describe_children", "postmaster_of", "reap_children",
           "record_child", "scratch_dir"]

CHILD_ENV = "HARNESS_CHILD"
RUN_ID_ENV = "HARNESS_RUN_ID"          # the plugin's; read here, never set
FOLDER = "children"
_GRACE_S = 10.0
_solo: Path | None = None              # this process's own run directory, outside a pytest run


def _state_dir() -> Path:
    """The run directory records go to: the pytest run's, else one owned by this process."""
    global _solo
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        return run_directory(run_id)
    if _solo is None or not _solo.is_dir():
        _solo = claim_run_directory(f"solo-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    return _solo


@dataclass
class ChildRecord:
    """One record in ``children/``: update it as the child starts, forget it once it is gone."""

    path: Path
    data: dict[str, Any]

    @property
    def marker(self) -> dict[str, str]:
        """Environment for the child: how the reaper knows it before its PID is recorded."""
        return {CHILD_ENV: self.data["id"]}

    def started(self, pid: int) -> None:
        try:
            created = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            created = None
        self.data.update(pid=pid, started=created)
        _write(self.path, self.data)

    def stopped(self) -> None:
        """The process is stopped; its folders (if any) are still to be removed."""
        self.data.update(pid=None, started=None)
        _write(self.path, self.data)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def record_child(kind: str, what: str, *, pgdata: Path | None = None,
                 remove: tuple[Path, ...] = ()) -> ChildRecord:
    """Records a child about to start (``kind``: postmaster, process or folder) in the run's state."""
    folder = _state_dir() / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    ident = uuid.uuid4().hex
    data = {"id": ident, "kind": kind, "what": what, "owner": os.getpid(),
            "pgdata": str(pgdata) if pgdata is not None else None, "pid": None, "started": None,
            "remove": [str(p) for p in remove]}
    record = ChildRecord(folder / f"{ident}.json", data)
    _write(record.path, data)
    return record


def _write(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


def _records(run_dir: Path) -> list[ChildRecord]:
    found = []
    for path in sorted((run_dir / FOLDER).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "id" in data:
            found.append(ChildRecord(path, data))
    return found


def postmaster_of(pgdata: str | Path) -> psutil.Process | None:
    """The postgres serving ``pgdata`` (from its ``postmaster.pid``); never any other process."""
    try:
        pid = int((Path(pgdata) / "postmaster.pid").read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if proc.name() == "postgres" and str(pgdata) in " ".join(proc.cmdline()):
            return proc
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def _recorded_process(data: dict[str, Any]) -> psutil.Process | None:
    pid, started = data.get("pid"), data.get("started")
    if pid is None:
        return None
    try:
        proc = psutil.Process(int(pid))
        if started is None or abs(proc.create_time() - float(started)) < 1.0:
            return proc
    except (psutil.Error, ValueError):
        pass
    return None


def _marked(idents: set[str]) -> dict[str, list[psutil.Process]]:
    """Processes whose environment carries one of the markers, by marker."""
    found: dict[str, list[psutil.Process]] = {}
    if not idents:
        return found
    for proc in psutil.process_iter():
        try:
            mark = proc.environ().get(CHILD_ENV)
        except (psutil.Error, OSError):
            continue
        if mark in idents:
            found.setdefault(mark, []).append(proc)
    return found


def _running(records: list[ChildRecord]) -> dict[str, list[psutil.Process]]:
    marked = _marked({r.data["id"] for r in records if r.data.get("kind") == "process"})
    running = {}
    for record in records:
        procs = list(marked.get(record.data["id"], []))
        if record.data.get("pgdata"):
            postmaster = postmaster_of(record.data["pgdata"])
            procs += [postmaster] if postmaster is not None else []
        proc = _recorded_process(record.data)
        if proc is not None and all(p.pid != proc.pid for p in procs):
            procs.append(proc)
        running[record.data["id"]] = procs
    return running


def describe_children(run_dir: Path) -> list[str]:
    """What a run's records still name: running children and folders on disk."""
    records = _records(run_dir)
    running = _running(records)
    lines = []
    for record in records:
        pids = ", ".join(str(p.pid) for p in running[record.data["id"]])
        folders = [p for p in record.data.get("remove", []) if Path(p).exists()]
        if pids:
            lines.append(f"{record.data['what']} still running (pid {pids})")
        if folders:
            lines.append(f"{record.data['what']}: {', '.join(folders)} on disk")
    return lines


def _stop(proc: psutil.Process, postmaster: bool) -> None:
    """A postmaster gets SIGQUIT (immediate shutdown), anything else SIGTERM; SIGKILL after that."""
    try:
        family = [proc, *proc.children(recursive=True)]
        proc.send_signal(signal.SIGQUIT if postmaster else signal.SIGTERM)
    except psutil.Error:
        return
    _, alive = psutil.wait_procs(family, timeout=_GRACE_S)
    for lingering in alive:
        with contextlib.suppress(psutil.Error):
            lingering.kill()
    psutil.wait_procs(alive, timeout=_GRACE_S)


def reap_children(run_dir: Path, records: list[ChildRecord] | None = None) -> list[str]:
    """Stops every process the records name, removes their folders, forgets them; says what."""
    records = _records(run_dir) if records is None else records
    done = []
    for record in records:                     # processes first: a postmaster holds its folder
        for proc in _running([record])[record.data["id"]]:
            _stop(proc, postmaster=record.data["kind"] == "postmaster")
            done.append(f"stopped {record.data['what']} (pid {proc.pid})")
    for record in records:
        for folder in record.data.get("remove", []):
            path = Path(folder)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed {path}")
        record.forget()
    return done


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private temp folder (mode 0755: a server's system user may need to reach it), recorded
    before it is made; on the way out, normal or not, whatever was recorded under it is stopped
    and the folder removed."""
    path = Path(tempfile.gettempdir()) / f"{prefix}{uuid.uuid4().hex[:12]}"
    record = record_child("folder", f"scratch folder {path.name}", remove=(path,))
    try:
        path.mkdir(mode=0o755)
        yield path
    finally:
        inside = [r for r in _records(record.path.parent.parent)
                  if r.data.get("owner") == os.getpid() and r.data["id"] != record.data["id"]
                  and any(_under(Path(p), path) for p in [r.data.get("pgdata") or "",
                                                         *r.data.get("remove", [])] if p)]
        reap_children(record.path.parent.parent, [*inside, record])


def _under(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents
