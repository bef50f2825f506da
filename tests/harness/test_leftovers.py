"""A killed run's server and passwords are found, reported and removed; SIGTERM leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, leftover_servers, private_tmp, run_pytest

pytestmark = pytest.mark.slow

HANGING_TEST = '''
import time

def test_hangs(fresh_database):
    print("SERVER-UP", flush=True)
    time.sleep(120)
'''


def _start_hanging_run(pytester_dir: Path) -> subprocess.Popen:
    (pytester_dir / "test_hang.py").write_text(HANGING_TEST)
    env = {**os.environ, "TMPDIR": str(private_tmp(pytester_dir))}
    env.pop("HARNESS_RUN_ID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q", "test_hang.py",
         "--rootdir", str(pytester_dir), "--harness-target", str(ROOT / "target.yaml")],
        cwd=pytester_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline, seen = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "SERVER-UP" in line or not line:
            break
    assert "SERVER-UP" in seen, seen
    return proc


def _run_dirs(pytester_dir: Path) -> list[Path]:
    return sorted((pytester_dir / "tmp").glob("harness-run-*"))


def _pgdata_targets(pytester_dir: Path) -> list[Path]:
    links = [d / "server" / "pgdata" for d in _run_dirs(pytester_dir)]
    return [Path(os.readlink(link)) for link in links if link.is_symlink()]


def test_a_sigkilled_run_is_reported_by_doctor_and_removed_by_the_next_run(pytester_dir):
    """SIGKILL leaves a postmaster and server.json; doctor names them; the next run removes them."""
    proc = _start_hanging_run(pytester_dir)
    proc.kill()
    proc.wait(30)
    assert leftover_servers(pytester_dir), "the killed run's postmaster should still be running"
    [run_dir] = _run_dirs(pytester_dir)
    assert (run_dir / "server.json").exists()
    shm = _pgdata_targets(pytester_dir)

    env = {**os.environ, "TMPDIR": str(pytester_dir / "tmp")}
    doctor = subprocess.run([sys.executable, "-m", "harness", "doctor", "--target",
                             str(ROOT / "target.yaml")], capture_output=True, text=True,
                            env=env, timeout=120)
    assert f"stale run {run_dir.name}" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "postmaster" in doctor.stdout and "server.json" in doctor.stdout

    (pytester_dir / "test_hang.py").unlink()
    (pytester_dir / "test_next.py").write_text("def test_nothing():\n    assert True\n")
    out = run_pytest(pytester_dir, "-q", "test_next.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"removed stale run {run_dir.name}" in out.stderr
    assert leftover_servers(pytester_dir) == []
    assert not run_dir.exists()
    assert not [p for p in shm if p.exists()], "the tmpfs data directory was left behind"


def test_sigterm_stops_the_server_and_removes_server_json(pytester_dir):
    """SIGTERM (what CI and `harness gate` send) tears down like Ctrl-C: no postgres, no secrets."""
    proc = _start_hanging_run(pytester_dir)
    shm = _pgdata_targets(pytester_dir)
    assert leftover_servers(pytester_dir)
    proc.send_signal(signal.SIGTERM)
    proc.wait(90)
    assert leftover_servers(pytester_dir) == []
    assert not list((pytester_dir / "tmp").rglob("server.json"))
    assert _run_dirs(pytester_dir) == []
    assert not [p for p in shm if p.exists()]


HOLDING_A_BITE_SERVER = '''
import time
from tests.bite import shared_server

with shared_server():
    print("SERVER-UP", flush=True)
    time.sleep(300)
'''


def test_a_sigkilled_suites_bite_server_is_stopped_by_the_next_runs_cleanup(tmp_path):
    """A test helper's server (tests/bite.py shared_server) left by a SIGKILLed suite is a stale
    run: found, and stopped by PID, as a killed harness run's is, never left running unseen."""
    tmp = private_tmp(tmp_path)
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDING_A_BITE_SERVER], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    postmaster = None
    try:
        line = proc.stdout.readline()
        assert "SERVER-UP" in line, line + proc.stdout.read()
        [postmaster] = [int(found.split()[0]) for found in leftover_servers(tmp)]
        proc.kill()
        proc.wait(30)
        assert leftover_servers(tmp), "the killed suite's postmaster should still be running"

        from harness.leftovers import find_stale_runs, remove

        ours = [s for s in find_stale_runs(tmp) if s.postmaster == postmaster]
        assert ours, f"no stale run names postmaster {postmaster}: {find_stale_runs(tmp)}"
        assert "server.json" in ours[0].describe()
        assert remove(ours[0])
        assert leftover_servers(tmp) == []
        assert not ours[0].directory.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        if postmaster is not None and leftover_servers(tmp):
            os.kill(postmaster, signal.SIGQUIT)   # the test failed: still leave nothing running


def test_a_stale_run_another_process_reaped_first_is_not_made_again(tmp_path):
    """Runs starting together each reap the stale runs they listed: the one that comes second to
    a folder the first already removed finds nothing to do, and leaves no folder behind (its
    lock once made the folder again, empty but for the lock file, to be raced for next time)."""
    from harness.leftovers import find_stale_runs, remove
    from harness.run_directory import RUN_PREFIX

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    folder = tmp_path / f"{RUN_PREFIX}{os.urandom(8).hex()}"
    folder.mkdir()
    (folder / "owner.json").write_text(f'{{"pid": {gone.stdout.strip()}, "started": 1.0}}')
    (stale,) = find_stale_runs(tmp_path)
    assert remove(stale), "the first reaper removes the stale run"
    assert not folder.exists()
    assert not remove(stale), "the second finds it gone"
    assert not folder.exists(), f"the second reaper made the folder again: {list(folder.iterdir())}"


def test_a_run_lock_held_by_a_live_process_keeps_a_reaper_out(tmp_path):
    """The reaper's lock is the one the run's processes hold (fasteners, same file): while a run
    holds it, a reaper in another process is refused, and takes it once it is let go."""
    import fasteners

    folder = tmp_path / "run"
    folder.mkdir()
    probe = ("import sys; from pathlib import Path; from harness.run_directory import held_if_present\n"
             "with held_if_present(Path(sys.argv[1])) as held: print(held)")

    def reaper_holds() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True, text=True,
                              check=True, cwd=ROOT).stdout.strip()

    with fasteners.InterProcessLock(str(folder / "lock")):
        assert reaper_holds() == "False"
    assert reaper_holds() == "True"


def test_a_run_whose_target_cannot_be_read_leaves_no_run_folder(pytester_dir):
    """A run refused its target (a missing file) but asked for Allure results: its controller
    cannot load the spec at exit, and no server is recorded, so its folder goes with it (it was
    left for the next run to reap, one per full ./dev test)."""
    (pytester_dir / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = run_pytest(pytester_dir, "-q", "--alluredir", str(pytester_dir / "results"),
                      "--harness-target", str(pytester_dir / "no-target.yaml"), "test_nothing.py")
    tmp = private_tmp(pytester_dir)
    assert done.returncode == 0, done.stdout + done.stderr   # no test asked for the target
    assert sorted(p.name for p in tmp.glob("harness-run-*")) == [], done.stdout + done.stderr
