"""Past one machine (issue 7, section 4): a packet from the results of several CI jobs. Two real
pytest shard runs are merged; each keeps its provenance; shards of different targets or commits
are refused in one line; a test whose outcome differs between shards is flaky."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from tests.gates.conftest import REPO

pytestmark = pytest.mark.slow   # two real pytest runs make the shards (about 8 s)

SCENARIO = '''\
import os
import pytest


@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
def test_a_negatives():
    pass


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_b_audit_one():
    pass


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_b_audit_two():
    pass


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S1")
def test_ab_in_both_shards():
    assert os.environ["SHARD"] == "b", "lost a write in shard a"
'''


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Two real shard runs of one suite (``-k a`` and ``-k b``), as two CI jobs would make them."""
    root = tmp_path_factory.mktemp("shards")
    (root / "suite").mkdir()
    (root / "suite" / "test_scenario.py").write_text(SCENARIO)
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("# alembic env\n")
    spec = root / "target.yaml"
    spec.write_text("name: sharded\nmigrations: {script_location: migrations}\napp_role: app_user\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("HARNESS_BACKEND", None)
    outs = []
    for shard in ("a", "b"):
        out = root / f"allure-results-{shard}"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "allure_pytest.plugin",
             "-p", "harness.plugin", "-p", "hypothesispytest", "--harness-target", str(spec), "--alluredir", str(out),
             "--hypothesis-seed", f"{ord(shard)}", "-k", shard, "suite"],
            cwd=root, env={**env, "SHARD": shard}, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert (out / "harness-provenance.json").is_file(), done.stdout + done.stderr
        outs.append(out)
    return root, outs[0], outs[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    return tmp_path


def _build(gate: str, *directories: Path) -> int:
    argv = ["packet", "build", "--gate", gate, "--no-allure", "-q", "--target", "none.yaml"]
    for directory in directories:
        argv += ["--results", str(directory)]
    return main([arg for arg in argv if arg not in ("--target", "none.yaml")])


def test_two_real_shards_make_one_packet_with_each_shards_provenance(workdir, shards):
    _, a, b = shards
    assert _build("S03", a, b) == 1     # risk register: no target given, so missing
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    items = {i["id"]: i for i in data["items"]}
    assert items["S03.cross-tenant-negatives"]["status"] == "met"
    assert items["S03.audit-trail"]["status"] == "met"
    assert {t["name"] for t in items["S03.audit-trail"]["tests"]} == {"test_b_audit_one", "test_b_audit_two"}
    assert [s["results"] for s in data["shards"]] == ["allure-results-a", "allure-results-b"]
    assert [s["provenance"]["hypothesis_seed"] for s in data["shards"]] == ["97", "98"]
    assert all(s["provenance"]["target"] == "sharded" and s["provenance"]["recorded_by_plugin"]
               for s in data["shards"])
    assert all(len(s["results_sha256"]) == 64 for s in data["shards"])
    seal = (workdir / "reports/packets/S03/results.sha256").read_text()
    assert "  allure-results-a/" in seal and "  allure-results-b/" in seal


def test_a_test_with_different_outcomes_in_two_shards_is_flaky(workdir, shards):
    _, a, b = shards
    assert _build("S04", a, b) == 1
    data = json.loads((workdir / "reports/packets/S04/packet.json").read_text())
    (item,) = data["items"]
    assert item["status"] == "flaky"
    assert "outcomes differ between shards" in item["reason"]
    # each shard alone is what it is: failed in a, passed in b
    assert _build("S04", a) == 1
    assert json.loads((workdir / "reports/packets/S04/packet.json").read_text())["items"][0]["status"] == "failed"
    assert _build("S04", b) == 0


@pytest.mark.parametrize(("field", "values", "says"), [
    ("target_commit", ("a" * 40, "b" * 40), "shards from different commits of the target"),
    ("target", ("one", "other"), "shards from different targets"),
])
def test_shards_from_different_commits_or_targets_are_refused(workdir, shards, capsys, field, values, says):
    _, a, b = shards
    copies = []
    for source, value in zip((a, b), values, strict=True):
        copy = workdir / source.name
        shutil.copytree(source, copy)
        record = json.loads((copy / "harness-provenance.json").read_text())
        record[field] = value
        (copy / "harness-provenance.json").write_text(json.dumps(record))
        copies.append(copy)
    assert _build("S03", *copies) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "allure-results-b" in err
    assert not (workdir / "reports/packets/S03").exists()


def test_the_same_shard_twice_is_refused(workdir, shards, capsys):
    _, a, _ = shards
    assert _build("S03", a, a) == 2
    assert "names the same directory as" in capsys.readouterr().err
