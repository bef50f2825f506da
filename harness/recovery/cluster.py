"""A private PostgreSQL cluster for recovery rehearsals, from the embedded wheel's binaries.

Ordinary test servers run with ``fsync=off`` (throwaway data), which proves nothing about
durability. A rehearsal cluster runs with ``fsync=on``, ``synchronous_commit=on``,
``full_page_writes=on``, ``wal_level=replica`` and WAL archiving, in a directory of its own,
on loopback with password authentication. It can be killed with SIGKILL (a crash), restarted
(crash recovery), backed up with ``pg_basebackup`` and restored from that backup into a second
cluster that replays the archive to a named restore point. Only the postmasters it started are
ever stopped, by the PID each one recorded.

Each cluster, and the rehearsal's archive, backup and log folders, is recorded in the run's
state before it is made (:mod:`harness.children`): a run killed outright mid-rehearsal leaves a
postmaster with fsync on and copies of the data, and the next run stops and removes them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

from harness.backends.embedded import SUPERUSER, EmbeddedBackend, _install_dir
from harness.children import ChildRecord, record_child
from harness.errors import BackendUnavailable
from harness.secrets import ConnParams

__all__ = ["Cluster", "RehearsalDirs", "bin_path"]

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
           "wal_level": "replica", "max_wal_senders": "4", "max_connections": "100",
           "listen_addresses": "127.0.0.1", "unix_socket_directories": ""}


def bin_path(name: str) -> str:
    return str(_install_dir() / "bin" / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RehearsalDirs:
    """Where one rehearsal keeps its clusters, WAL archive and base backup."""

    root: Path
    run_as: str | None = None

    def __post_init__(self) -> None:
        record_child("folder", f"rehearsal folders in {self.root}",
                     remove=(self.root / "archive", self.root / "backup", self.root / "logs"))
        for name in ("archive", "backup", "logs"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.run_as = EmbeddedBackend._prepare_user(
            [self.root / "archive", self.root / "backup", self.root / "logs"])

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def backup(self) -> Path:
        return self.root / "backup" / "base"

    def run(self, cmd: list[str], what: str, timeout: float = 300,
            password: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PGPASSWORD": password} if password else None
        done = subprocess.run(cmd, user=self.run_as, capture_output=True, text=True, env=env,
                              start_new_session=True, timeout=timeout, cwd="/", check=False)
        if done.returncode != 0:
            raise BackendUnavailable(f"{what} failed (exit {done.returncode}): "
                                     f"{(done.stderr or done.stdout).strip()[-600:]}")
        return done

    def owned_dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(path, self.run_as, self.run_as)
        path.chmod(0o700)
        return path


@dataclass
class Cluster:
    """One postmaster over one data directory."""

    dirs: RehearsalDirs
    pgdata: Path
    password: str = field(repr=False)
    port: int = 0
    pid: int | None = None
    record: ChildRecord | None = field(default=None, repr=False)

    @classmethod
    def create(cls, dirs: RehearsalDirs, name: str, settings: dict[str, str]) -> Cluster:
        """initdb a new cluster and start it with ``settings`` on top of :data:`DURABLE`."""
        record = cls.record_for(dirs.root / name)
        pgdata = dirs.owned_dir(name)
        password = secrets.token_urlsafe(24)
        pwfile = dirs.root / "logs" / f"{name}.pw"
        pwfile.write_text(password + "\n")
        if dirs.run_as:
            shutil.chown(pwfile, dirs.run_as, dirs.run_as)
        pwfile.chmod(0o600)
        try:
            dirs.run([bin_path("initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--pwfile", str(pwfile),
                      "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
                      "--locale=C", "--no-instructions"], f"initdb {name}")
        finally:
            pwfile.unlink(missing_ok=True)
        cluster = cls(dirs, pgdata, password, record=record)
        cluster.configure({**DURABLE, **settings})
        cluster.start()
        return cluster

    @staticmethod
    def record_for(pgdata: Path) -> ChildRecord:
        """The run's record of a cluster about to be made in ``pgdata`` (before it exists)."""
        return record_child("postmaster", f"rehearsal cluster {pgdata}", pgdata=pgdata, remove=(pgdata,))

    def configure(self, settings: dict[str, str]) -> None:
        quote = "'"
        lines = [f"{k} = {quote}{v.replace(quote, quote * 2)}{quote}" for k, v in settings.items()]
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    @property
    def admin(self) -> ConnParams:
        return ConnParams(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                          password=self.password)

    def start(self, timeout: int = 120) -> float:
        """Starts the postmaster (replaying WAL as needed); returns the seconds it took."""
        self.port = _free_port()
        log = self.log
        started = time.monotonic()
        try:
            self.dirs.run([bin_path("pg_ctl"), "-D", str(self.pgdata), "-l", str(log), "-w", "-t",
                           str(timeout), "-o", f"-p {self.port}", "start"],
                          f"pg_ctl start {self.pgdata.name}", timeout=timeout + 30)
        except BackendUnavailable as exc:
            raise BackendUnavailable(f"{exc}; server log: {self._log_tail(log)}") from None
        try:
            self.pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            # the postmaster already stopped (a restore that cannot reach its target ends
            # recovery and exits): nothing to record; the caller judges what it can reach
            return time.monotonic() - started
        if self.record is not None:
            self.record.started(self.pid)
        return time.monotonic() - started

    @property
    def log(self) -> Path:
        return self.dirs.root / "logs" / f"{self.pgdata.name}.log"

    def wait_ready(self, timeout: float = 120) -> None:
        """Waits until the cluster has left recovery and takes connections. A postmaster that
        exits meanwhile fails the wait at once, with its log: a restore that cannot reach its
        target may first accept read-only connections (so ``pg_ctl start -w`` returns), then
        end recovery and shut down, and the wait used to poll the closed port to its limit."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin.conninfo(), connect_timeout=3) as conn:
                    if not conn.execute("select pg_is_in_recovery()").fetchone()[0]:
                        return
            except psycopg.OperationalError:
                if self._ours() is None:
                    self.stop()
                    raise BackendUnavailable(f"cluster {self.pgdata.name} stopped before it left "
                                             f"recovery; server log: {self._log_tail(self.log)}") from None
            if time.monotonic() > deadline:
                raise BackendUnavailable(f"cluster {self.pgdata.name} did not leave recovery in "
                                         f"{timeout:.0f}s")
            time.sleep(0.1)

    def crash(self) -> None:
        """SIGKILL the postmaster (and, as a crash does, every backend dies with it)."""
        proc = self._ours()
        if proc is None:
            return
        children = proc.children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs([proc, *children], timeout=10)
        self.pid = None

    def stop(self) -> None:
        if self._ours() is None:
            if self.pid is not None:       # it exited by itself: the record says so too
                self.pid = None
                if self.record is not None:
                    self.record.stopped()
            return
        with contextlib.suppress(BackendUnavailable, subprocess.TimeoutExpired):
            self.dirs.run([bin_path("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t",
                           "30", "stop"], f"pg_ctl stop {self.pgdata.name}", timeout=45)
        proc = self._ours()
        if proc is not None:
            proc.kill()
        self.pid = None
        if self.record is not None:
            self.record.stopped()

    def _ours(self) -> psutil.Process | None:
        if self.pid is None:
            return None
        try:
            proc = psutil.Process(self.pid)
            # an exited postmaster nobody has reaped yet is a zombie: gone all the same
            alive = proc.name() == "postgres" and proc.status() != psutil.STATUS_ZOMBIE
            return proc if alive else None
        except psutil.NoSuchProcess:
            return None

    @staticmethod
    def _log_tail(log: Path) -> str:
        """The log's last FATAL or PANIC lines (why it stopped: "recovery ended before configured
        recovery target was reached"), then its end."""
        if not log.exists():
            return ""
        text = log.read_text(errors="replace")
        fatal = [line.strip() for line in text.splitlines() if "FATAL:" in line or "PANIC:" in line]
        tail = text[-300:].strip()
        return " ... ".join([*(line for line in fatal[-2:] if line not in tail), tail])
