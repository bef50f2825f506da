"""The README's "Your own Supabase project in ten minutes", run as written on basejump's own four
migrations: init drafts, the gate refuses the TODOs, the committed answers and adapter close
them, and the three gates judge basejump for real. Prints the wall time and the lines written."""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.onboarding.conftest import REPO, WALKTHROUGH, answer, project

HARNESS = Path(sys.executable).parent / "harness"
SECTION = "## Your own Supabase project in ten minutes"


def readme_commands() -> list[str]:
    """The walkthrough's first ``sh`` block, command by command."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the walkthrough has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _run(cwd: Path, command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "harness"
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_BACKEND", "HARNESS_RUN_ID")}
    return subprocess.run([str(HARNESS), *argv[1:], "--no-allure", "-q"] if argv[1] == "gate"
                          else [str(HARNESS), *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def _lines_written(skeleton: str, mine: str) -> int:
    """Lines the user added to the skeleton (blank lines not counted)."""
    return sum(1 for line in difflib.unified_diff(skeleton.splitlines(), mine.splitlines(), lineterm="")
               if line.startswith("+") and not line.startswith("+++") and line[1:].strip())


@pytest.mark.slow
def test_the_readme_walkthrough_on_basejump(tmp_path):
    init, gate = readme_commands()
    assert init.startswith("harness init --migrations supabase/migrations")
    assert gate.startswith("harness gate S00 S01 S03 --target supabase/target.yaml")
    root = project(tmp_path, "basejump").parents[1]           # <project>/supabase/migrations

    started = time.monotonic()
    drafted = _run(root, init)
    init_seconds = time.monotonic() - started
    assert drafted.returncode == 0, drafted.stderr
    assert "decide" in drafted.stdout and "tenant column  account_id -> basejump.accounts" in drafted.stdout

    refused = _run(root, gate)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1 and "supabase/target.yaml: " in refused.stderr
    assert "still says 'TODO" in refused.stderr and "(fix: " in refused.stderr
    assert not (root / "reports" / "packets").exists()

    answers = answer(root / "supabase" / "target.yaml")
    skeleton = (root / "supabase" / "adapter.py").read_text()
    shutil.copy(WALKTHROUGH / "adapter.py", root / "supabase" / "adapter.py")
    adapter_lines = _lines_written(skeleton, (WALKTHROUGH / "adapter.py").read_text())

    started = time.monotonic()
    judged = _run(root, gate)
    gate_seconds = time.monotonic() - started
    assert judged.returncode in (0, 1), judged.stdout[-3000:] + judged.stderr[-3000:]
    packets = {g: json.loads((root / "reports" / "packets" / g / "packet.json").read_text())
               for g in ("S00", "S01", "S03")}
    s03 = {item["id"]: item for item in packets["S03"]["items"]}
    # every tenant check ran against basejump: a verdict, never an error of the set-up
    assert not [i for i in s03.values() if i["status"] == "error"], s03
    assert s03["S03.cross-tenant-negatives"]["status"] in ("met", "failed")
    assert s03["S03.cross-tenant-negatives"]["tests"]
    assert s03["S03.role-matrix"]["status"] == "not-applicable"   # the user's answer, with its reason
    print(f"\nwalkthrough on basejump: harness init {init_seconds:.1f} s, harness gate S00 S01 S03 "
          f"{gate_seconds:.1f} s; the user wrote {answers} answer lines and {adapter_lines} adapter "
          f"lines; decisions: " + ", ".join(f"{g} {p['decision']}" for g, p in packets.items()))
    assert answers + adapter_lines <= 40
