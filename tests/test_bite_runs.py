"""What the bite runs (:mod:`tests.bite`) do to cost less changes no verdict.

- Packets: :func:`tests.bite.build_packets` builds in the test process what ``harness packet
  build --no-allure`` builds in a process of its own (one per gate, ~1.5 s of CPU each, which
  the bite file paid ~190 times). One result set feeding two gates is built both ways, for a
  target beside its own waivers file and on the ``dsn`` backend, as a bite run is: the packets
  must be equal file by file (except when each was generated), the waiver beside the target
  must open its item in both, and the DSN's password must appear in neither.
- Hypothesis's pytest plugin stays unloaded in the runs of a suite that never imports
  hypothesis (:func:`tests.bite.reaches_hypothesis`): the scan finds an import however deep or
  lazy, and collecting the suites it clears imports no hypothesis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from harness.families import families
from tests.bite import ROOT, VARIANTS, _clean_env, build_packets, reaches_hypothesis
from tests.gates.result_files import ResultFiles

pytestmark = pytest.mark.slow

PASSWORD = "bite-parity-pa55word"
DSN = f"postgresql://harness:{PASSWORD}@127.0.0.1:1/postgres"   # never connected to
GATES = ("S03", "S08")


def _packet_files(folder):
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if name == "packet.json":
            data = json.loads(path.read_text())
            data.pop("generated_at")
            files[name] = data
        elif name not in ("MANIFEST.sha256", "packet.md", "index.html"):  # these carry the time
            files[name] = path.read_bytes()
    return files


def test_the_bite_runs_packets_are_the_ones_harness_packet_build_writes(tmp_path):
    target = tmp_path / "target" / "target.yaml"
    target.parent.mkdir()
    target.write_text(f"extends: {VARIANTS / 'using-true' / 'target.yaml'}\nname: bite-parity\n")
    (target.parent / "waivers.yaml").write_text(textwrap.dedent("""\
        - item: S08.dead-letter-escalation
          reason: the parity test's waiver, read from beside the target
          approver: Release lead
          expires: 2099-12-31
        """))
    results = ResultFiles(tmp_path / "results")
    results.add("test_reads_exactly_its_own_rows", evidence=("S03.cross-tenant-negatives",))
    results.add("test_every_table_is_forced", "failed", evidence=("S03.policy-coverage",),
                message=f"could not reach {DSN}", trace=f"password={PASSWORD}",
                attachments=(("connection", "text/plain", DSN.encode()),))
    results.add("test_roles", "skipped", evidence=("S03.role-matrix",))
    results.add("test_delivered_twice", evidence=("S08.idempotency", "S08.replay-safety"))
    results.add("test_exhausts_its_retries", "failed", evidence=("S08.dead-letter-escalation",))

    by_command = tmp_path / "by-command"
    for gate in GATES:
        subprocess.run([sys.executable, "-m", "harness", "packet", "build", "--results",
                        str(results.directory), "--gate", gate, "--target", str(target), "--out",
                        str(by_command), "--catalog", str(ROOT / "gates.yaml"), "--no-allure", "-q"],
                       cwd=ROOT, env=_clean_env(DSN), capture_output=True, text=True, timeout=120,
                       check=False)
    in_process = build_packets(results.directory, GATES, target, tmp_path / "in-process", dsn=DSN)

    for gate in GATES:
        assert (by_command / gate / "packet.json").is_file(), f"harness packet build wrote no {gate}"
        expected = _packet_files(by_command / gate)
        assert _packet_files(tmp_path / "in-process" / gate) == expected
        assert {k: v for k, v in in_process[gate].items() if k != "generated_at"} == \
            expected["packet.json"]
    statuses = {i["id"]: i["status"] for g in GATES for i in in_process[g]["items"]}
    assert statuses["S08.dead-letter-escalation"] == "waived"
    assert statuses["S03.policy-coverage"] == "failed"
    assert in_process["S03"]["provenance"]["backend"] == "dsn"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.parent != results.directory:
            assert PASSWORD not in path.read_text(errors="replace"), path


def test_the_import_scan_finds_hypothesis_however_deep_or_lazy(tmp_path):
    (tmp_path / "lazy").mkdir()
    (tmp_path / "lazy" / "test_a.py").write_text("def test_a():\n    import hypothesis\n")
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "test_b.py").write_text("def test_b():\n    from harness.replay import profiles\n")
    (tmp_path / "free").mkdir()
    (tmp_path / "free" / "test_c.py").write_text("from harness.core import values\n")
    assert reaches_hypothesis(tmp_path / "lazy") == f"{tmp_path / 'lazy' / 'test_a.py'} imports hypothesis"
    assert reaches_hypothesis(tmp_path / "deep") == "harness/replay/profiles.py imports hypothesis"
    assert reaches_hypothesis(tmp_path / "free") is None


_COLLECT = """
import sys, pytest
code = pytest.main(["--co", "-q", "-p", "no:hypothesispytest", *sys.argv[1:]])
print("imported:", sorted(m for m in sys.modules if m.split(".")[0] in ("hypothesis", "schemathesis")))
sys.exit(code)
"""


def _collected_imports(*suites: str) -> str:
    done = subprocess.run([sys.executable, "-c", _COLLECT, *suites], cwd=ROOT, env=_clean_env(None),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout.rsplit("imported:", 1)[1].strip()


def test_the_suites_run_without_hypothesis_plugin_never_import_it():
    free = [f.scenarios for f in families() if reaches_hypothesis(ROOT / f.scenarios) is None]
    assert free, "no suite runs without the plugin: the scan finds nothing, or nothing is free"
    assert _collected_imports(*free) == "[]"
    # the same check sees a suite that imports it (at collection, as test_schedules.py does)
    assert reaches_hypothesis(ROOT / "scenarios" / "counters") is not None
    assert "'hypothesis'" in _collected_imports("scenarios/counters")
