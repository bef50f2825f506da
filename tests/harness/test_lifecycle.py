"""Database lifecycle on a real server: start, migrate into a template, clone, drop, clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from harness.lifecycle import Run
from harness.migrations import current_heads, downgrade, script_heads, upgrade
from harness.target import load_target

from .conftest import ROOT, leftover_servers, private_tmp, run_pytest

pytestmark = pytest.mark.slow


def _databases(run: Run) -> set[str]:
    with psycopg.connect(run.server.admin.conninfo()) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def lifecycle_round_trip(spec_backend: str | None, run_id: str) -> None:
    spec = load_target(ROOT / "target.yaml", backend=spec_backend)
    run = Run(spec, run_id)
    state = run.acquire()
    try:
        template = run.template()
        assert template in _databases(run)
        with run.fresh_database("roundtrip") as db:
            assert current_heads(db.owner) == script_heads(spec)
            with db.connect_owner() as conn:
                tables = {r[0] for r in conn.execute(
                    "select tablename from pg_tables where schemaname = 'public'")}
            assert {"workspaces", "users", "memberships", "audit_log"} <= tables
            with db.connect_app() as conn:  # a leaked connection must not keep the clone alive
                conn.execute("select 1")
                leaked = db.connect_app()
            name = db.name
        # the pool drops used clones in the background; settle() waits for that
        assert run.pool is not None and run.pool.settle()
        assert name not in _databases(run)
        leaked.close()
        # a second clone of the same template is independent
        with run.fresh_database("second") as db2:
            assert db2.name != name
    finally:
        run.release()
    if state.backend == "embedded":
        assert not Path(state.handle["pgdata"]).exists()
        assert leftover_servers(state.handle["pgdata"]) == []


def test_embedded_backend_start_migrate_clone_cleanup(new_run_id):
    """The default backend starts, migrates once, clones per test and leaves nothing behind."""
    lifecycle_round_trip("embedded", new_run_id())


@pytest.mark.docker
def test_docker_backend_start_migrate_clone_cleanup(docker_image, new_run_id):
    """The docker backend (testcontainers) does the same, and removes its container."""
    import docker

    before = {c.id for c in docker.from_env().containers.list(all=True)}
    lifecycle_round_trip("docker", new_run_id())
    after = {c.id for c in docker.from_env().containers.list(all=True)}
    assert after <= before, "the harness left a container behind"


def test_dsn_backend_creates_and_drops_only_its_own_databases(monkeypatch, new_run_id):
    """Against an existing server the harness touches only the databases it named."""
    host = Run(load_target(ROOT / "target.yaml", backend="embedded"), new_run_id())
    server = host.acquire()
    try:
        with psycopg.connect(server.admin.conninfo(), autocommit=True) as conn:
            conn.execute("create database someone_elses_db")
        # a user's DSN carries its password (the harness's own conninfo names its password file)
        monkeypatch.setenv("HARNESS_DSN", replace(server.admin, passfile=None).conninfo())
        spec = load_target(ROOT / "target.yaml", backend="dsn")
        assert spec.database.dsn.password is not None
        guest = Run(spec, new_run_id())
        guest.acquire()
        with guest.fresh_database("dsn") as db:
            assert db.name in _databases(host)
            # the app role pre-existed on that server: the harness switches to it, never alters it
            assert db.app_via_set_role
            with db.connect_app() as conn:
                assert conn.execute("select current_user").fetchone()[0] == spec.app_role
        guest.template()
        guest.release()
        remaining = _databases(host)
        assert "someone_elses_db" in remaining
        assert not [d for d in remaining if d.startswith(f"harness_{guest.tag}_")]
        assert server.handle["pid"]  # the host server is still up: dsn stops nothing
        with psycopg.connect(server.admin.conninfo()) as conn:
            conn.execute("select 1")
    finally:
        host.release()


def test_migrations_downgrade_to_base_and_up_again(harness_run):
    """Every migration has a working downgrade(): base and back to head on a real database."""
    db = harness_run.create_empty("rehearsal")
    try:
        spec = harness_run.spec
        upgrade(spec, db.owner)
        assert current_heads(db.owner) == script_heads(spec)
        downgrade(spec, db.owner, "base")
        assert current_heads(db.owner) == ()
        with db.connect_owner() as conn:
            left = conn.execute("select count(*) from pg_tables where schemaname = 'public' "
                                "and tablename <> 'alembic_version'").fetchone()[0]
        assert left == 0
        upgrade(spec, db.owner)
        assert current_heads(db.owner) == script_heads(spec)
    finally:
        harness_run.drop(db)


XDIST_TESTS = '''
import pytest

@pytest.mark.parametrize("n", range(6))
def test_clone(fresh_database, owner_conn, n):
    owner_conn.execute("insert into users (email) values (%s)", (f"u{n}@example.com",))
    assert owner_conn.execute("select count(*) from users").fetchone()[0] == 1
    assert owner_conn.execute("select count(*) from alembic_version").fetchone()[0] == 1
'''


def test_xdist_workers_share_one_server_and_one_template(pytester_dir):
    """Under -n 2 each worker clones its own databases from a template built exactly once."""
    (pytester_dir / "test_x.py").write_text(XDIST_TESTS)
    out = run_pytest(pytester_dir, "-n", "2", "-q", "-s")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 passed" in out.stdout
    assert leftover_servers(pytester_dir) == []


SLOW_TEST = '''
import time

def test_hangs(fresh_database):
    print("SERVER-UP", flush=True)
    time.sleep(60)
'''


def test_ctrl_c_leaves_no_server_behind(pytester_dir):
    """An interrupted run (SIGINT, as Ctrl-C sends) still stops the server it started."""
    (pytester_dir / "test_slow.py").write_text(SLOW_TEST)
    env = {**os.environ, "TMPDIR": str(private_tmp(pytester_dir))}
    env.pop("HARNESS_RUN_ID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q",
         "--rootdir", str(pytester_dir), "--harness-target", str(ROOT / "target.yaml")],
        cwd=pytester_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        # Ctrl-C at a terminal: SIGINT handled, even where this suite runs with it ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "SERVER-UP" in line:
            break
    assert "SERVER-UP" in seen, seen
    assert leftover_servers(pytester_dir), "the server should be up while the test runs"
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert leftover_servers(pytester_dir) == []


def test_a_controller_with_no_server_left_reaps_without_the_spec(tmp_path, monkeypatch):
    """The xdist controller's exit loads the spec (and imports the adapter, ~1 s) only when a
    server is still recorded: without one, reaping needs no spec and still removes the run's
    directory."""
    import tempfile
    import uuid

    from harness.lifecycle import reap, server_recorded
    from harness.run_directory import RUN_PREFIX, claim_run_directory

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run_id = uuid.uuid4().hex
    claim_run_directory(run_id)
    assert not server_recorded(run_id)
    assert reap(None, run_id) is False
    assert not (tmp_path / f"{RUN_PREFIX}{run_id}").exists()
