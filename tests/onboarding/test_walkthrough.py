"""``harness init`` on each real schema, walked as a user would: the README's "Your own Supabase
project in ten minutes" as written on basejump's own four migrations, and the same road on
Graphile Starter's schema dump (a different shape: a session id in a setting, helpers returning
sets, writes through functions).

For each: init drafts; the gate refuses the raw draft with one line listing every TODO decision
and nothing else; the answers committed next to the fixture (``walkthrough/answers.yaml``, the
adapter ``walkthrough/adapter.py``) close them; the three gates then judge the schema, and every
S03 item the ground truth judges (``ground_truth/probes.sql``, plain SQL run with psql, written
apart from the suite) has the ground truth's status. Prints the wall time and the lines the user
wrote (the answered spec and the adapter, each diffed against what init wrote).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.target import load_target
from tests.bite import shared_server
from tests.isolation.ground_truth import ground_truth
from tests.onboarding.conftest import REPO, TARGETS, answer, lines_written

HARNESS = Path(sys.executable).parent / "harness"
SECTION = "## Your own Supabase project in ten minutes"
JUDGED = ("S03.cross-tenant-negatives", "S03.policy-coverage", "S03.role-matrix")


def readme_commands() -> list[str]:
    """The walkthrough's first ``sh`` block, command by command."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the walkthrough has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@dataclass(frozen=True)
class Walk:
    folder: str                 # where the user's repository keeps the migrations
    platform_stub: bool         # whether the user's migrations hold the platform's objects
    commands: tuple[str, str]   # harness init ..., harness gate ...


WALKS = {
    # basejump's four migrations only: preset: supabase supplies the platform
    "basejump": Walk("supabase/migrations", False, tuple(readme_commands())),  # type: ignore[arg-type]
    # Graphile's roles, worker and contrib stand-ins are what its platform provides: the user has them
    "graphile-starter": Walk("db/migrations", True, (
        "harness init --migrations db/migrations --adapter tenants,row-overrides",
        "harness gate S00 S01 S03 --target db/target.yaml")),
}


def _project(tmp_path: Path, target: str, walk: Walk) -> Path:
    root = tmp_path / target
    folder = root / walk.folder
    folder.mkdir(parents=True)
    for path in sorted((TARGETS / target / "migrations").glob("*.sql")):
        if walk.platform_stub or "platform_stub" not in path.name:
            shutil.copy(path, folder / path.name)
    return root


def _run(cwd: Path, command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "harness"
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_BACKEND", "HARNESS_RUN_ID")}
    return subprocess.run([str(HARNESS), *argv[1:], "--no-allure", "-q"] if argv[1] == "gate"
                          else [str(HARNESS), *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def truths():
    with shared_server() as dsn:
        yield lambda target: ground_truth(dsn, TARGETS / target / "target.yaml",
                                          TARGETS / target / "ground_truth" / "probes.sql")


def test_the_readme_walkthrough_is_what_the_basejump_walk_runs():
    init, gate = readme_commands()
    assert init.startswith("harness init --migrations supabase/migrations")
    assert gate.startswith("harness gate S00 S01 S03 --target supabase/target.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("target", list(WALKS))
def test_init_and_the_committed_answers_give_the_ground_truths_verdict(tmp_path, truths, target):
    walk = WALKS[target]
    init, gate = walk.commands
    root = _project(tmp_path, target, walk)
    spec = root / Path(walk.folder).parent / "target.yaml"
    answers = TARGETS / target / "walkthrough"

    started = time.monotonic()
    drafted = _run(root, init)
    init_seconds = time.monotonic() - started
    assert drafted.returncode == 0, drafted.stderr
    assert "decide" in drafted.stdout and "tenant column  " in drafted.stdout
    draft = spec.read_text()
    todos = re.findall(r'^\s+(\S+): "TODO', draft, flags=re.MULTILINE)
    assert todos, "the draft leaves no decision to the user"

    # the raw draft: refused before any suite runs, on the TODO decisions only, all of them listed
    refused = _run(root, gate)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1 and f"{spec.relative_to(root)}: " in refused.stderr
    assert "still says 'TODO" in refused.stderr and "(fix: replace the TODO" in refused.stderr
    assert f"{len(todos) - 1} more decision(s) still say TODO" in refused.stderr
    assert all(f".{name}" in refused.stderr for name in todos), refused.stderr
    assert not (root / "reports" / "packets").exists()

    spec_lines = answer(spec, answers / "answers.yaml")
    assert ': "TODO' not in spec.read_text(), "an answer is missing"
    adapter = spec.parent / "adapter.py"
    adapter_lines = lines_written(adapter.read_text(), (answers / "adapter.py").read_text())
    shutil.copy(answers / "adapter.py", adapter)
    # the draft found what the hand-written spec says: the tenancy, the binding, the membership keys
    mine, hand = load_target(spec), load_target(TARGETS / target / "target.yaml")
    assert (mine.tenancy.column, mine.tenancy.root, mine.binding) == \
        (hand.tenancy.column, hand.tenancy.root, hand.binding)
    keys = ("table", "user_column", "tenant_column", "roles", "owner_role")
    assert [getattr(mine.membership, k) for k in keys] == [getattr(hand.membership, k) for k in keys]

    started = time.monotonic()
    judged = _run(root, gate)
    gate_seconds = time.monotonic() - started
    assert judged.returncode in (0, 1), judged.stdout[-3000:] + judged.stderr[-3000:]
    packets = {g: json.loads((root / "reports" / "packets" / g / "packet.json").read_text())
               for g in ("S00", "S01", "S03")}
    statuses = {i["id"]: i["status"] for p in packets.values() for i in p["items"]}
    # every check ran against the schema: a verdict, never an error of the set-up
    assert not [i for i, s in statuses.items() if s == "error"], statuses

    truth = truths(target)
    assert all(ok == "ok" for _, item, ok, _ in truth.probes if item == "fixture"), truth.output
    packet = {i: statuses[i] for i in JUDGED}
    expected = {i: truth.items.get(i, "not-applicable") for i in JUDGED}   # not judged: declared
    print(f"\n{target}: harness init {init_seconds:.1f} s, harness gate S00 S01 S03 "
          f"{gate_seconds:.1f} s; the user wrote {spec_lines} spec lines ({len(todos)} TODOs "
          f"answered) and {adapter_lines} adapter lines; S03 {packet} (ground truth "
          f"{truth.items}); decisions: " + ", ".join(f"{g} {p['decision']}" for g, p in packets.items()))
    assert packet == expected, truth.output
