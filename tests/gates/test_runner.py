"""``harness gate`` and ``packet build`` as processes: signals reach pytest and its cleanup is
waited for (defect 1), each run has its own results and packets are swapped in whole under a
per-gate lock (defect 6), earlier results are never deleted, a backend that cannot start says
why, and a SIGTERM during ``packet build`` leaves nothing half-written (defect 9)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.gates.packets_folder import gate_lock, remove_stale_staging
from tests.gates.conftest import REPO, SMALL_CATALOG, write
from tests.gates.test_assemble import fill

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
ENV.pop("HARNESS_BACKEND", None)


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    return tmp_path


@pytest.fixture
def gate_target(tmp_path) -> Path:
    """A target on the embedded backend whose suites need no database unless asked to."""
    root = tmp_path / "gate-target"
    write(root / "migrations" / "env.py", "# alembic env\n")
    (root / "migrations" / "versions").mkdir()
    write(root / "target.yaml", "name: tiny\nmigrations: {script_location: migrations}\napp_role: app_user\n"
                                "suites: [evidence]\nharness_suites: false\n")
    return root


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_reaches_pytest_and_its_cleanup_is_waited_for(tmp_path, gate_target, signum):
    started, cleaned = tmp_path / "started", tmp_path / "cleaned"
    write(gate_target / "evidence" / "test_slow.py", f"""\
        import os, pathlib, time
        import pytest

        @pytest.fixture
        def server():
            pathlib.Path({str(started)!r}).write_text(str(os.getpid()))
            yield
            time.sleep(1)   # a teardown that takes a moment, like stopping a postmaster
            pathlib.Path({str(cleaned)!r}).write_text("cleaned")

        @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
        def test_slow(server):
            time.sleep(120)
        """)
    write(tmp_path / "gates.yaml", SMALL_CATALOG)
    harness = subprocess.Popen([sys.executable, "-m", "harness", "gate", "S03", "--target",
                                str(gate_target / "target.yaml"), "--no-allure", "-q"],
                               cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(started, harness)
    harness.send_signal(signum)
    out, err = harness.communicate(timeout=120)
    assert harness.returncode == 128 + signum, out + err
    assert cleaned.read_text() == "cleaned", "harness gate exited before pytest's teardown ran"
    with pytest.raises(ProcessLookupError):
        os.kill(int(started.read_text()), 0)
    assert f"interrupted by {signal.Signals(signum).name}" in err and err.count("\n") == 1, err
    assert not (tmp_path / "reports/packets/S03").exists()


@pytest.mark.slow
def test_each_run_has_its_own_results_and_records_the_hypothesis_seed(workdir, gate_target):
    write(gate_target / "evidence" / "test_ok.py", """\
        import pytest

        @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
        def test_ok():
            pass
        """)
    kept = workdir / "reports/allure-results/S03"
    write(kept / "precious.txt", "results of another job")     # --results DIR/<gate> is not ours
    seeds = []
    for _ in range(2):
        assert main(["gate", "S03", "--target", str(gate_target / "target.yaml"), "--no-allure", "-q"]) == 1
        data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
        assert {i["id"]: i["status"] for i in data["items"]}["S03.cross-tenant-negatives"] == "met"
        seeds.append(data["provenance"]["hypothesis_seed"])
    runs = sorted(p for p in (workdir / "reports/allure-results").glob("S03-*") if p.is_dir())
    assert len(runs) == 2 and all(list(r.glob("*-result.json")) for r in runs)
    assert (kept / "precious.txt").read_text() == "results of another job"
    assert all(seed and seed.isdigit() for seed in seeds)


def test_a_second_writer_of_the_same_gate_refuses_in_one_line(workdir, results, capsys):
    fill(results)
    with gate_lock(workdir / "reports/packets", "S03"):
        assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another harness run (pid" in err
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure", "-q"]) == 1


def test_concurrent_builds_both_give_a_correct_packet_or_refuse(workdir, results):
    fill(results)
    argv = [sys.executable, "-m", "harness", "packet", "build", "--results", str(results.directory),
            "--gate", "S03", "--no-allure", "-q"]
    runs = [subprocess.Popen(argv, cwd=workdir, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    for code, err in outcomes:
        assert code == 1 or (code == 2 and "another harness run" in err and err.count("\n") == 1), err
    assert any(code == 1 for code, _ in outcomes)
    from harness.gates.manifest import verify

    assert not verify(workdir / "reports/packets/S03")
    assert not [p for p in (workdir / "reports/packets").iterdir() if p.name.startswith(".S03-")]


@pytest.mark.slow
def test_a_backend_that_cannot_start_says_why(workdir, gate_target, capsys):
    spec = gate_target / "target.yaml"
    spec.write_text(spec.read_text() + "database: {backend: dsn, dsn: 'postgresql://u@127.0.0.1:9/db'}\n")
    write(gate_target / "evidence" / "test_db.py", """\
        import pytest

        @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
        def test_needs_a_database(fresh_database):
            pass
        """)
    assert main(["gate", "S03", "--target", str(spec), "--no-allure", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pytest stopped with exit code" not in err, err
    assert "127.0.0.1" in err and "no packet was written" in err and " ! (" not in err


def test_sigterm_during_packet_build_leaves_no_staging_folder(workdir, results):
    fill(results)
    # enough evidence that the build is still copying when the signal arrives
    for n in range(150):
        results.add(f"t{n}", evidence=("S03.cross-tenant-negatives",),
                    attachments=(("blob", "text/plain", os.urandom(64 * 1024).hex().encode()),))
    build = subprocess.Popen([sys.executable, "-m", "harness", "packet", "build", "--results",
                              str(results.directory), "--gate", "S03", "--no-allure", "-q"],
                             cwd=workdir, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    packets = workdir / "reports/packets"
    deadline = time.monotonic() + 120
    while not (packets.is_dir() and any(p.name.startswith(".S03-building-") for p in packets.iterdir())):
        assert build.poll() is None, build.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    build.send_signal(signal.SIGTERM)
    _, err = build.communicate(timeout=60)
    assert build.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and err.count("\n") == 1, err
    assert not [p for p in packets.iterdir() if p.name.startswith(".S03-") and p.is_dir()]
    assert not (packets / "S03").exists()


def test_a_killed_builds_staging_folder_is_removed_by_the_next_build(workdir, results):
    fill(results)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = workdir / f"reports/packets/.S03-building-{dead.pid}-abc123"
    write(stale / "packet.json", "{}")
    other_gate = workdir / f"reports/packets/.S04-building-{dead.pid}-abc123"
    other_gate.mkdir()
    live = workdir / f"reports/packets/.S03-building-{os.getpid()}-live"
    live.mkdir()
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure", "-q"]) == 1
    assert not stale.exists() and other_gate.exists() and live.exists()
    assert remove_stale_staging(workdir / "reports/packets", "S04") == [other_gate]


def test_gate_help_lists_sign_and_verify(capsys):
    assert main(["packet", "--help"]) == 0
    out = capsys.readouterr().out
    assert "sign" in out and "verify" in out
    assert textwrap.dedent("") == ""


def test_old_runs_of_the_same_selection_are_pruned_and_nothing_else(tmp_path):
    from harness.gates.runner import KEEP_RUNS, RUN_MARKER, new_results_dir

    root = tmp_path / "results"
    old = []
    for n in range(KEEP_RUNS + 2):
        run = root / f"S03-20260101T0000{n:02d}-{100 + n}"
        write(run / RUN_MARKER, "pid")
        os.utime(run, (1_700_000_000 + n, 1_700_000_000 + n))
        old.append(run)
    other_selection = root / "S03-S04-20260101T000000-1"
    write(other_selection / RUN_MARKER, "pid")
    not_ours = root / "S03-20260101T000000-7"
    not_ours.mkdir()
    fresh = new_results_dir(root, "S03")
    assert fresh.is_dir() and fresh not in old
    kept = [run for run in old if run.exists()]
    assert kept == old[-(KEEP_RUNS - 1):]
    assert other_selection.exists() and not_ours.exists()


def test_a_packet_is_swapped_in_whole(tmp_path):
    from harness.gates.packets_folder import staging_dir, swap_into_place

    out = tmp_path / "packets"
    for version in ("old", "new"):
        staging = staging_dir(out, "S03") if out.exists() else None
        if staging is None:
            out.mkdir()
            staging = staging_dir(out, "S03")
        staging.mkdir()
        (staging / "packet.json").write_text(version)
        swap_into_place(staging, out / "S03")
    assert (out / "S03" / "packet.json").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == ["S03"]


def _decisions(packets: Path) -> dict:
    """What a release lead reads off each packet: the decision, every item's status, every
    test's outcome (the seed differs from run to run and is left out)."""
    found = {}
    for packet in sorted(packets.glob("S*/packet.json")):
        data = json.loads(packet.read_text())
        found[packet.parent.name] = {
            "decision": data["decision"],
            "items": {i["id"]: i["status"] for i in data["items"]},
            "tests": sorted((t["name"], t["status"]) for i in data["items"] for t in i.get("tests", [])),
        }
    return found


@pytest.mark.slow
def test_workers_give_the_evidence_and_decisions_of_a_serial_run(workdir, gate_target):
    """``--workers 2`` spreads the suites over xdist workers and runs the ``alone`` tests after
    every other test (:mod:`harness.alone`); every packet reads as the serial run's."""
    for module in ("a", "b"):
        write(gate_target / "evidence" / f"test_{module}.py", f"""\
            from pathlib import Path
            import pytest

            DONE = Path(__file__).with_name("done")

            @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
            def test_negative_{module}():
                (DONE / "negative_{module}").touch()

            @pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
            def test_audit_{module}():
                (DONE / "audit_{module}").touch()
                assert "{module}" == "a", "an audit row is missing"
            """)
    write(gate_target / "evidence" / "test_timed.py", """\
        from pathlib import Path
        import pytest

        pytestmark = pytest.mark.alone

        @pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S1")
        def test_judged_alone():
            done = sorted(p.name for p in Path(__file__).with_name("done").iterdir())
            assert len(done) == 4, f"ran before the other tests were done: {done}"
        """)
    runs = {}
    for workers in ("1", "2"):
        done = gate_target / "evidence" / "done"
        shutil.rmtree(done, ignore_errors=True)
        done.mkdir()
        out = workdir / f"packets-{workers}"
        code = main(["gate", "--all", "--workers", workers, "--out", str(out), "--target",
                     str(gate_target / "target.yaml"), "--no-allure", "-q"])
        assert code == 1
        runs[workers] = _decisions(out)
    assert runs["1"] == runs["2"]
    assert set(runs["2"]) == {"S03", "S04"}
    assert runs["2"]["S03"]["items"]["S03.audit-trail"] == "failed"
    assert runs["2"]["S03"]["items"]["S03.cross-tenant-negatives"] == "met"
    assert runs["2"]["S04"]["items"]["S04.domain-invariants"] == "met"


def test_workers_must_be_one_or_more(workdir, gate_target, capsys):
    assert main(["gate", "--all", "--workers", "0", "--target", str(gate_target / "target.yaml")]) == 2
    assert "--workers 0" in capsys.readouterr().err
