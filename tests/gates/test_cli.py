"""The ``harness`` command line: exit codes 0 GO / 1 NO-GO / 2 usage or configuration error,
one-line errors without a traceback, and the gate / gates / packet subcommands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from harness.cli import main
from tests.gates.conftest import REPO, write
from tests.gates.test_assemble import fill


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):
    """A working directory holding the small catalog as gates.yaml and no waivers file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    return tmp_path


def _build(results, *extra):
    return main(["packet", "build", "--results", str(results.directory), "--gate", "S03",
                 "--no-allure", *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_packet_build_no_go_exits_1(workdir, results, target_root, capsys):
    fill(results)
    assert _build(results, "--target", str(target_root / "target.yaml")) == 1
    out = capsys.readouterr().out
    assert "S03.audit-trail" in out and "NO-GO" in out
    assert (workdir / "reports" / "packets" / "S03" / "packet.json").is_file()


def test_packet_build_go_exits_0_and_quiet_prints_one_line(workdir, results, target_root, capsys):
    for name, evidence in [("a", "S03.cross-tenant-negatives"), ("b", "S03.audit-trail"),
                           ("c", "S03.audit-trail")]:
        results.add(name, evidence=(evidence,))
    results.add("d", evidence=("S03.query-latency",), metrics=({"name": "p95_ms", "value": 10},))
    code = _build(results, "--target", str(target_root / "target.yaml"), "--out", "out", "-q")
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("\n") == 1 and out.startswith("S03  GO")
    assert (workdir / "out" / "S03" / "index.html").is_file()


def test_packet_build_without_a_target_leaves_documents_missing(workdir, results, capsys):
    fill(results)
    assert _build(results) == 1
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    risk = next(i for i in data["items"] if i["id"] == "S03.risk-register")
    assert risk["status"] == "missing" and "no target spec" in risk["reason"]


def test_default_waivers_file_is_used_when_present(workdir, results, target_root):
    fill(results)
    write(workdir / "waivers.yaml", "- {item: S03.audit-trail, reason: r, approver: lead, expires: 2999-01-01}\n")
    assert _build(results, "--target", str(target_root / "target.yaml")) == 0


@pytest.mark.parametrize(("setup", "args", "message"), [
    (lambda d: write(d / "gates.yaml", "gates: [unclosed\n"), [], r"gates.yaml: line \d+: not valid YAML"),
    (lambda d: None, ["--gate", "S42"], r"no gate 'S42' in the catalog"),
    (lambda d: None, ["--results", "nowhere"], r"nowhere: results directory not found"),
    (lambda d: write(d / "allure-results" / "x-result.json", "{oops"), [], r"x-result.json: line 1: not valid JSON"),
    (lambda d: write(d / "w.yaml", "- {item: S03.nope, reason: r, approver: a, expires: 2030-01-01}\n"),
     ["--waivers", "w.yaml"], r"w.yaml: line 1: waivers\[0\].item: 'S03.nope' is not an evidence item"),
    (lambda d: None, ["--waivers", "missing.yaml"], r"missing.yaml: file not found"),
    (lambda d: None, ["--target", "missing.yaml"], r"missing.yaml: file not found"),
    (lambda d: None, ["--baseline", "nothing-here"], r"nothing-here: --baseline: no packet.json there"),
])
def test_configuration_errors_exit_2_with_one_line(workdir, results, capsys, setup, args, message):
    results.add("a", evidence=("S03.cross-tenant-negatives",))
    setup(workdir)
    options = {"--results": str(results.directory), "--gate": "S03",
               **dict(zip(args[::2], args[1::2], strict=True))}
    argv = ["packet", "build", "--no-allure", *(part for pair in options.items() for part in pair)]
    assert main(argv) == 2
    assert re.search(message, _one_line_error(capsys))
    assert not (workdir / "reports" / "packets" / "S03").exists()


@pytest.mark.parametrize("argv", [
    ["packet", "build", "--results", "r"],
    ["packet"],
    ["gate"],
    ["gate", "S03", "--all"],
    ["frobnicate"],
])
def test_usage_errors_exit_2_with_one_line(workdir, capsys, argv):
    assert main(argv) == 2
    _one_line_error(capsys)


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("gate", "gates", "packet", "doctor"):
        assert command in out


def test_doctor_is_still_there(workdir, capsys):
    assert main(["doctor", "--target", "no-such-target.yaml"]) == 2
    assert "no-such-target.yaml: file not found" in _one_line_error(capsys)


def test_no_traceback_from_the_real_entry_point(workdir):
    write(workdir / "gates.yaml", "gates:\n  - id: S03\n    items: {}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-m", "harness", "gates"], cwd=workdir, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "gates.yaml: line 2: gates[S03].name: is missing" in done.stderr


def test_gates_lists_the_catalog_with_latest_decisions(workdir, results, capsys):
    fill(results)
    _build(results)
    capsys.readouterr()
    assert main(["gates"]) == 0
    out = capsys.readouterr().out
    assert "S03" in out and "NO-GO" in out and "intact" in out
    assert "S04" in out and "none" in out
    with (workdir / "reports/packets/S03/packet.md").open("a") as handle:
        handle.write("edited\n")
    assert main(["gates"]) == 1     # a changed packet is refused
    out = capsys.readouterr().out
    assert "CHANGED" in out and "packet.md: changed after the packet was written" in out


def test_repository_catalog_lists(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(REPO)
    assert main(["gates", "--out", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    for n in range(12):
        assert f"S{n:02d}" in out


def test_gate_without_suites_is_no_go_with_every_test_item_missing(workdir, target_root, capsys):
    """The target runs no suite: the truth is NO-GO with every test item missing."""
    with (target_root / "target.yaml").open("a") as spec:
        spec.write("harness_suites: false\n")
    code = main(["gate", "S03", "--target", str(target_root / "target.yaml"), "--no-allure"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    assert data["decision"] == "NO-GO"
    assert {i["id"]: i["status"] for i in data["items"]} == {
        "S03.cross-tenant-negatives": "missing", "S03.audit-trail": "missing",
        "S03.query-latency": "missing", "S03.risk-register": "met"}
    assert "no suite" in captured.out and "harness_suites: false" in captured.out


def test_gate_unknown_gate_fails_before_running_anything(workdir, target_root, capsys):
    assert main(["gate", "S42", "--target", str(target_root / "target.yaml")]) == 2
    assert "no gate 'S42'" in _one_line_error(capsys)
    assert not (workdir / "reports").exists()


def test_gate_command_selects_the_gates_suites(target_root, tmp_path):
    from harness.gates.runner import pytest_command, scenarios_path
    from harness.target import load_target

    command = pytest_command(load_target(target_root / "target.yaml"), ("S03", "S04"), tmp_path / "r", True)
    assert command[1:] == ["-m", "pytest", str(scenarios_path()), "--harness-gate", "S03", "--harness-gate", "S04",
                           "--harness-target", str(target_root / "target.yaml"), "--alluredir",
                           str(tmp_path / "r"), "-p", "no:cacheprovider",
                           "-p", "no:schemathesis", "-p", "no:locust", "-q"]


def test_a_target_with_its_own_suites_keeps_every_installed_pytest_plugin(target_root, tmp_path):
    """The installed scenarios need neither schemathesis's nor locust's pytest plugin, so a
    run of them alone skips loading both; a user's own suite may use them, so it gets them."""
    from dataclasses import replace

    from harness.gates.runner import pytest_command
    from harness.target import load_target

    target = load_target(target_root / "target.yaml")
    own = replace(target, suites=(tmp_path / "my_suite",))
    command = pytest_command(own, ("S03",), tmp_path / "r", True)
    assert "no:schemathesis" not in command and "no:locust" not in command
    assert str(tmp_path / "my_suite") in command


SCENARIOS = textwrap.dedent('''\
    import pytest


    @pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
    def test_no_leak():
        assert True


    @pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
    def test_audit():
        assert False, "no audit row"


    @pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S1")
    def test_other_gate():
        raise RuntimeError("must be deselected by --harness-gate S03")


    def test_no_evidence():
        raise RuntimeError("a test without evidence is not part of any gate run")
    ''')


@pytest.mark.slow
def test_gate_runs_the_suites_and_builds_the_packet(workdir, target_root, capsys):
    """End to end: pytest runs the spec's own suites for S03 only, then the packet is built."""
    write(target_root / "evidence" / "test_isolation.py", SCENARIOS)
    write(target_root / "conftest.py", (REPO / "conftest.py").read_text())
    with (target_root / "target.yaml").open("a") as spec:
        spec.write("suites: [evidence]\nharness_suites: false\n")
    code = main(["gate", "S03", "--target", str(target_root / "target.yaml"), "--no-allure", "-q"])
    out = capsys.readouterr().out
    assert code == 1, out
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    statuses = {i["id"]: i["status"] for i in data["items"]}
    assert statuses["S03.cross-tenant-negatives"] == "met"
    assert statuses["S03.audit-trail"] == "failed"
    names = {t["name"] for i in data["items"] for t in i["tests"]}
    assert names == {"test_no_leak", "test_audit"}
    assert "S03  NO-GO" in out
    assert len(list((workdir / "reports/allure-results").glob("S03-*.pytest.log"))) == 1
