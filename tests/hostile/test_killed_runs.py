"""Items 3 and 8 of the second hostile pass: processes a run could orphan, interrupts it swallowed.

SIGKILL during the restore rehearsal left the rehearsal's source cluster (its own postmaster,
archiver and port, fsync on) running after the next run had finished, with its archive, base
backup and restored copy on disk, and ``harness doctor`` said nothing. Now every child a run
starts is recorded in the run's state before it starts (:mod:`harness.children`) and reaped by
the next run and by ``harness doctor --reap``. These tests run the real suites in a pytest
subprocess with a private TMPDIR, kill it at a phase, and look for what is left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.harness.conftest import ROOT, leftover_servers
from tests.waits import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def tmp_path():
    """A folder every parent of which the server's system user may traverse (pytest's own
    tmp folders are 0700, and a rehearsal cluster runs as that user under TMPDIR)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="hostile-kill-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        _stop_everything_under(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _stop_everything_under(folder: Path) -> None:
    """A probe that failed (or the harness it caught) may leave processes of this test's runs:
    each is known by ``folder`` in its environment or its data directory. Killed, then waited
    for: a run this worker started and never waited for stays its zombie child (a later test
    listing the worker's children then finds a process that runs nothing)."""
    procs = _started_under(folder)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=30)   # reaps the ones that are this worker's children


def _started_under(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(folder) in " ".join(proc.info["cmdline"] or []) or \
                    str(folder) in proc.environ().get("TMPDIR", ""):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def private_tmp(tmp_path: Path) -> Path:
    """The TMPDIR of the runs under test: what they leave is found there."""
    path = tmp_path / "tmp"
    path.mkdir(mode=0o755, exist_ok=True)
    return path


def _start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "TMPDIR": str(private_tmp(tmp_path)), **(env or {})}
    full_env.pop("HARNESS_RUN_ID", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
         "--harness-target", str(ROOT / "target.yaml"), *args],
        cwd=ROOT, env=full_env, stdout=(tmp_path / "run.log").open("ab"), stderr=subprocess.STDOUT)


def _wait_for(proc: subprocess.Popen, ready: Callable[[], bool], what: str, log: Path,
              timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}:\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(30)   # reaped: never left a zombie child of this worker
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.05)


def _harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(private_tmp(tmp_path))}
    env.pop("HARNESS_RUN_ID", None)
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def _ours(tmp_path: Path, word: str) -> list[psutil.Process]:
    """Processes with ``word`` in their command line started with this test's TMPDIR."""
    found = []
    tmp = str(private_tmp(tmp_path))
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if word in " ".join(proc.info["cmdline"] or []) and proc.environ().get("TMPDIR") == tmp:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _left_on_disk(tmp_path: Path) -> list[str]:
    tmp = private_tmp(tmp_path)
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(("harness-", "pgbench-")))


def test_a_sigkill_during_the_restore_rehearsal_leaves_nothing_after_doctor_reap(tmp_path):
    tmp = private_tmp(tmp_path)
    run = _start(tmp_path, "scenarios/recovery/test_recovery.py", "-k", "base_backup")
    # the restore phase: the base backup is being copied into the restored cluster's folder
    _wait_for(run, lambda: any(tmp.glob("harness-recovery-*/restored")), "restore phase", tmp_path / "run.log")
    run.kill()
    run.wait(30)
    left = [s for s in leftover_servers(tmp) if "harness-recovery-" in s]
    assert left, "the attack needs the rehearsal's source cluster still running after the kill"

    doctor = _harness(tmp_path, "doctor", "--target", str(ROOT / "target.yaml"))
    assert "rehearsal cluster" in doctor.stdout and "still running" in doctor.stdout, doctor.stdout
    reaped = _harness(tmp_path, "doctor", "--reap", "--target", str(ROOT / "target.yaml"))
    assert "harness: removed stale run" in reaped.stdout, reaped.stdout + reaped.stderr
    assert leftover_servers(tmp) == []
    assert _left_on_disk(tmp_path) == [], "no data directory, archive, backup or run state may remain"


def test_a_sigkill_during_the_load_run_leaves_nothing_after_the_next_run(tmp_path):
    tmp = private_tmp(tmp_path)
    run = _start(tmp_path, "scenarios/load/test_load_slo.py", env={"HARNESS_LOAD_PROFILE": "bite"})
    _wait_for(run, lambda: bool(_ours(tmp_path, "locust")) and bool(_ours(tmp_path, "uvicorn")),
              "load run (uvicorn and locust running)", tmp_path / "run.log")
    run.kill()
    run.wait(30)
    orphans = _ours(tmp_path, "uvicorn") + _ours(tmp_path, "locust")
    assert orphans, "the attack needs the API server and the load generator orphaned by the kill"

    (tmp_path / "test_next.py").write_text("def test_nothing():\n    assert True\n")
    nxt = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--rootdir", str(tmp_path), "--harness-target", str(ROOT / "target.yaml"),
                          str(tmp_path / "test_next.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**{k: v for k, v in os.environ.items() if k != "HARNESS_RUN_ID"},
                              "TMPDIR": str(tmp)})
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert "removed stale run" in nxt.stderr and "API server" in nxt.stderr, nxt.stderr
    psutil.wait_procs(orphans, timeout=15)
    assert not [p for p in orphans if p.is_running()], "uvicorn or locust outlived the next run"
    assert leftover_servers(tmp) == []
    assert _left_on_disk(tmp_path) == []


def test_sigterm_stops_a_restore_within_seconds_with_cleanup(tmp_path):
    tmp = private_tmp(tmp_path)
    run = _start(tmp_path, "scenarios/recovery/test_recovery.py", "-k", "base_backup")
    _wait_for(run, lambda: any(tmp.glob("harness-recovery-*/restored")), "restore phase", tmp_path / "run.log")
    sent = time.monotonic()
    run.send_signal(signal.SIGTERM)
    run.wait(120)
    took = time.monotonic() - sent
    print(f"SIGTERM during the restore: the run stopped in {took:.1f} s")
    assert took < 30, f"SIGTERM took {took:.1f} s to stop the run"
    assert leftover_servers(tmp) == []
    assert _left_on_disk(tmp_path) == []


def test_sigterm_stops_a_load_run_within_seconds_with_cleanup(tmp_path):
    run = _start(tmp_path, "scenarios/load/test_load_slo.py", env={"HARNESS_LOAD_PROFILE": "bite"})
    _wait_for(run, lambda: bool(_ours(tmp_path, "locust")) and bool(_ours(tmp_path, "uvicorn")),
              "load run (uvicorn and locust running)", tmp_path / "run.log")
    started = _ours(tmp_path, "uvicorn") + _ours(tmp_path, "locust")
    sent = time.monotonic()
    run.send_signal(signal.SIGTERM)
    run.wait(120)
    took = time.monotonic() - sent
    print(f"SIGTERM during the load run: the run stopped in {took:.1f} s")
    assert took < 30, f"SIGTERM took {took:.1f} s to stop the load run"
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert leftover_servers(private_tmp(tmp_path)) == []
    assert _left_on_disk(tmp_path) == []


def _admin(tmp: Path) -> str | None:
    """The run's admin conninfo, from its server.json (this test runs as the run's user)."""
    import json

    from harness.secrets import ConnParams

    for record in tmp.glob("harness-run-*/server.json"):
        try:
            return ConnParams(**json.loads(record.read_text())["server"]["admin"]).conninfo()
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def _workload_database(tmp: Path) -> str | None:
    """The live rehearsal's database, once its tenant workload (app_user sessions) is running
    (its tables may not exist yet: the attack waits for them)."""
    import psycopg

    admin = _admin(tmp)
    if admin is None:
        return None
    try:
        with psycopg.connect(admin, connect_timeout=3) as conn:
            row = conn.execute("select datname from pg_stat_activity where usename = 'app_user' "
                               "and datname like '%live%' limit 1").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def _sessions_gone(admin: str, database: str, run: subprocess.Popen, timeout: float = 60) -> float:
    """When the workload's sessions (app_user in ``database``) were all gone (monotonic time)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        try:
            with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                left = conn.execute("select count(*) from pg_stat_activity where usename = 'app_user' "
                                    "and datname = %s", (database,)).fetchone()[0]
        except psycopg.Error:
            break                     # the server is going: so are its sessions
        if not left:
            break
        time.sleep(0.05)
    return time.monotonic()


def _workload_waits(watcher, run: subprocess.Popen, seconds: float = 3) -> bool:
    """Whether a session of the tenant workload (app_user) waits on a lock within ``seconds``
    (``watcher``: an autocommit connection to its database, so each read is a new snapshot)."""
    waiting = ("select count(*) from pg_stat_activity where usename = 'app_user' "
               "and datname = current_database() and wait_event_type = 'Lock'")
    return wait_for(lambda: run.poll() is not None or watcher.execute(waiting).fetchone()[0] > 0,
                    seconds) and run.poll() is None


def _lock_every_tenant_table(blocker, admin: str, run: subprocess.Popen, log: Path) -> list[str]:
    """Takes ACCESS EXCLUSIVE on every tenant table of the live rehearsal's database, while the
    rehearsal moves on, and holds them once a workload session waits on one (before the workload
    has tenants and rows to read, it waits on nothing: then they are let go, and taken again a
    moment later). An attempt is also let go and made again, with the tables listed anew, when it
    closes a cycle with a workload transaction holding another table (40P01: the server cancels
    the session whose deadlock_timeout ends first, the workload's 100 ms on the embedded server,
    and should it cancel this one instead), when a downgrade step dropped a listed table (42P01),
    or when a step's own exclusive lock outlasts this one's lock_timeout (55P03)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin, autocommit=True) as watcher:
        for _ in range(100):
            if run.poll() is not None:
                break
            try:
                blocker.execute("set lock_timeout = '5s'")       # both undone by a rollback
                blocker.execute("set deadlock_timeout = '60s'")
                tables = [r[0] for r in blocker.execute(
                    "select c.oid::regclass::text from pg_class c join pg_attribute a on a.attrelid = c.oid "
                    "where c.relkind = 'r' and a.attname = 'workspace_id' "
                    "and c.relnamespace = 'public'::regnamespace")]
                for table in tables:
                    blocker.execute(sql.SQL("lock table {} in access exclusive mode").format(sql.SQL(table)))
                if tables and _workload_waits(watcher, run):
                    return tables
                blocker.rollback()                              # not yet: let the rehearsal go on
            except (psycopg.errors.DeadlockDetected, psycopg.errors.UndefinedTable,
                    psycopg.errors.LockNotAvailable):
                blocker.rollback()
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    pytest.fail(f"the workload's tables could not be locked while the rehearsal ran "
                f"(exit {run.poll()}):\n{tail}")


def _wait_or_dump_stacks(run: subprocess.Popen, timeout: float, log: Path) -> None:
    """Waits for ``run``; past ``timeout``, SIGABRT (the run has faulthandler on) and fail with
    the stacks it printed: where it hung, not only that it did."""
    try:
        run.wait(timeout)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGABRT)
        run.wait(30)
        text = log.read_text(errors="replace") if log.is_file() else ""
        stacks = text[text.find("Fatal Python error"):] if "Fatal Python error" in text else text[-6000:]
        pytest.fail(f"the run did not end within {timeout:.0f} s of SIGTERM; its threads:\n{stacks[-12000:]}")


def test_sigterm_stops_the_live_rehearsal_within_seconds_while_its_workload_waits_on_a_lock(tmp_path):
    """The workload blocked on a lock used to hold the run for its lock timeout after SIGTERM."""
    import psycopg

    tmp = private_tmp(tmp_path)
    # faulthandler on: a run that outlives its wait is stopped with SIGABRT, which makes it
    # print every thread's stack to its log, so a hang names the line it hangs on
    run = _start(tmp_path, "scenarios/migrations/test_lock_safety.py", "-k", "stalls",
                 env={"PYTHONFAULTHANDLER": "1"})
    found: list[str] = []
    _wait_for(run, lambda: bool(found.append(_workload_database(tmp) or "") or found[-1]),
              "live rehearsal workload", tmp_path / "run.log")
    server = _admin(tmp)
    admin = psycopg.conninfo.make_conninfo(server, dbname=found[-1])
    blocker = psycopg.connect(admin)
    try:
        tables = _lock_every_tenant_table(blocker, admin, run, tmp_path / "run.log")
        time.sleep(1.5)
        sent = time.monotonic()
        run.send_signal(signal.SIGTERM)
        try:
            workload_gone = _sessions_gone(server, found[-1], run) - sent
            _wait_or_dump_stacks(run, 120, tmp_path / "run.log")
        finally:
            took = time.monotonic() - sent
    finally:
        with contextlib.suppress(psycopg.Error):   # the run's teardown may have cut it already
            blocker.close()
    print(f"SIGTERM during the live rehearsal (workload blocked on {len(tables)} locks): its "
          f"workload stopped in {workload_gone:.1f} s, the run (teardown included) in {took:.1f} s")
    assert tables, "the attack needs the workload's tables locked"
    # the rehearsal itself must stop at once; the run's teardown (drop, server stop) is on top
    assert workload_gone < 5, f"the workload ran on {workload_gone:.1f} s after SIGTERM"
    assert took < 60, f"SIGTERM took {took:.1f} s to stop the run"
    assert leftover_servers(tmp) == []
    assert _left_on_disk(tmp_path) == []


def test_a_sigkilled_harness_gate_does_not_leave_its_pytest_running(tmp_path):
    """``harness gate`` runs pytest in a session of its own; killed outright, it used to leave
    that pytest running unwatched. Now pytest is interrupted (and tears down) when it dies."""
    from tests.gates.conftest import MIGRATION, SMALL_CATALOG, write

    root = tmp_path / "target"
    write(root / "migrations" / "env.py", "# alembic env\n")
    write(root / "migrations" / "versions" / "0001_table.py", MIGRATION)
    write(root / "gates.yaml", SMALL_CATALOG)
    write(root / "conftest.py", (ROOT / "conftest.py").read_text())
    write(root / "evidence" / "test_hang.py", """\
        import time
        import pytest


        @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
        def test_hangs():
            time.sleep(600)
        """)
    write(root / "target.yaml", """\
        name: hanging
        database: {backend: embedded}
        migrations: {script_location: migrations}
        app_role: app_user
        suites: [evidence]
        harness_suites: false
        """)
    env = {**os.environ, "TMPDIR": str(private_tmp(tmp_path))}
    env.pop("HARNESS_RUN_ID", None)
    gate = subprocess.Popen([sys.executable, "-m", "harness", "gate", "S03", "--target",
                             str(root / "target.yaml"), "--no-allure", "-q", "--out",
                             str(tmp_path / "packets"), "--results", str(tmp_path / "results")],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []

    def pytest_started() -> bool:
        children[:] = [c for c in psutil.Process(gate.pid).children() if "pytest" in " ".join(c.cmdline())]
        return bool(children) and (tmp_path / "tmp").is_dir() and any((tmp_path / "tmp").glob("harness-run-*"))

    _wait_for(gate, pytest_started, "pytest started by harness gate", tmp_path / "none.log", timeout=120)
    gate.kill()
    gate.wait(30)
    gone, alive = psutil.wait_procs(children, timeout=30)
    for proc in alive:
        proc.kill()
    assert not alive, "pytest ran on after harness gate was killed"
    assert not list((tmp_path / "packets").glob("S03")), "no packet from a killed run"


def test_a_run_given_up_on_is_killed_and_reaped(tmp_path):
    """The timeout of _wait_for kills the run it gave up on and waits for it."""
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with pytest.raises(pytest.fail.Exception, match="no nothing within"):
        _wait_for(run, lambda: False, "nothing", tmp_path / "none.log", timeout=0.2)
    assert not psutil.pid_exists(run.pid), "killed, not reaped: a zombie child of this worker"


def test_a_run_left_by_a_failed_probe_is_killed_and_reaped_at_teardown(tmp_path):
    """What a test leaves running under its folder is killed and reaped, never left a zombie."""
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                           env={**os.environ, "TMPDIR": str(private_tmp(tmp_path))})
    deadline = time.monotonic() + 30
    while not _started_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop_everything_under(tmp_path)
    assert not psutil.pid_exists(run.pid), "killed, not reaped: a zombie child of this worker"


def test_a_run_that_outlives_its_wait_is_stopped_with_its_stacks_in_the_failure(tmp_path):
    log = tmp_path / "run.log"
    run = subprocess.Popen([sys.executable, "-c", "import time\ndef hangs_here():\n    time.sleep(120)\nhangs_here()"],
                           env={**os.environ, "PYTHONFAULTHANDLER": "1"}, stdout=log.open("wb"),
                           stderr=subprocess.STDOUT)
    time.sleep(1)
    with pytest.raises(pytest.fail.Exception, match="(?s)did not end within 1 s.*hangs_here"):
        _wait_or_dump_stacks(run, 1, log)
    assert run.returncode is not None
