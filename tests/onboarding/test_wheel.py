"""The harness as a user installs it: a wheel in a fresh virtualenv outside the checkout, used
from another directory (`harness init`, then `harness gate S03`), with its suites, presets and
data found inside the installed package and nothing read from the repository.

The dependencies are heavy (locust, schemathesis, matplotlib, the embedded PostgreSQL wheel), so
by default the fresh environment installs only the wheel (``--no-deps --no-index``) and finds its
dependencies in the running environment's site-packages through a ``.pth`` line (which adds the
folder to ``sys.path`` without running its ``.pth`` files, so the checkout's editable install is
not on the path). ``HARNESS_WHEEL_FULL_INSTALL=1`` installs the wheel with its dependencies from
the package index instead, as CI with network access can.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.onboarding.conftest import REPO, WALKTHROUGH, answer, project

_NOT_SHIPPED = shutil.ignore_patterns(".venv", ".git", "reports", "node_modules", "build", "dist",
                                      "*.egg-info", "__pycache__", ".ruff_cache", ".hypothesis")


def _run(argv: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HARNESS_BACKEND", "HARNESS_RUN_ID", "PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return result


def _ok(result: subprocess.CompletedProcess, *codes: int) -> subprocess.CompletedProcess:
    assert result.returncode in (codes or (0,)), (result.args, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.mark.slow
def test_a_wheel_in_a_fresh_virtualenv_runs_init_and_a_gate_from_another_directory(tmp_path):
    source = tmp_path / "source"    # a copy: building in place would leave build/ in the checkout
    shutil.copytree(REPO, source, symlinks=True, ignore=_NOT_SHIPPED)
    dist = tmp_path / "dist"
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
             tmp_path))
    wheel = next(dist.glob("gate_harness-*.whl"))

    # a virtualenv without pip of its own (ensurepip costs ~3 s of CPU): this environment's pip
    # installs into it (``pip --python``)
    venv = tmp_path / "venv"
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path))
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    if os.environ.get("HARNESS_WHEEL_FULL_INSTALL"):
        _ok(_run([*pip, str(wheel)], tmp_path))
    else:
        purelib = _ok(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           tmp_path)).stdout.strip()
        Path(purelib, "harness-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        _ok(_run([*pip, "--no-deps", "--no-index", str(wheel)], tmp_path))

    elsewhere = tmp_path / "elsewhere"
    folder = project(elsewhere, "basejump")
    root = folder.parents[1]
    where = _ok(_run([str(python), "-c", "import harness, harness.data, harness.presets; "
                      "print(harness.__file__); print(harness.data.path('retrieval/eval_set.yaml')); "
                      "print(harness.presets.folder())"], root)).stdout.split()
    assert all(str(venv) in line and str(REPO) not in line for line in where), where
    assert Path(where[1]).is_file()

    harness = str(venv / "bin" / "harness")
    _ok(_run([harness, "init", "--migrations", "supabase/migrations", "--adapter",
              "tenants,memberships,row-overrides"], root))   # as the README walkthrough
    refused = _ok(_run([harness, "gate", "S03", "--target", "supabase/target.yaml"], root), 2)
    assert "still says 'TODO" in refused.stderr
    answer(root / "supabase" / "target.yaml")
    shutil.copy(WALKTHROUGH / "adapter.py", root / "supabase" / "adapter.py")
    _ok(_run([harness, "gate", "S03", "--target", "supabase/target.yaml", "--no-allure", "-q"], root), 0, 1)

    packet = json.loads((root / "reports" / "packets" / "S03" / "packet.json").read_text())
    items = {item["id"]: item for item in packet["items"]}
    assert items["S03.cross-tenant-negatives"]["tests"], items   # the installed suites ran
    assert not [i for i in items.values() if i["status"] == "error"], items
    # nothing of the checkout was used (its .venv may be: the borrowed dependencies live there)
    checkout = [f"{REPO / part}/" for part in ("harness", "scenarios", "fixtures", "loadtests")]
    for path in (root / "reports").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".log", ".txt"):
            text = path.read_text(errors="replace")
            assert not [c for c in checkout if c in text], path
