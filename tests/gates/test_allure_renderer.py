"""One Node process renders a run's Allure reports (:mod:`harness.gates.allure_renderer`): the
same report ``allure generate`` writes, one process for many reports, a failed or hung request
reported (never a crash) with the next request served, and no process left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.gates.allure_renderer import GENERATE_TIMEOUT, AllureRenderer
from harness.gates.allure_report import allure_config
from tests.gates.conftest import REPO

pytestmark = pytest.mark.slow


def _job(root: Path, name: str, tests: int = 2) -> tuple[Path, Path, Path]:
    """A staging folder as render_allure lays it out: (allurerc.json, folder, results)."""
    stage = root / name
    results = stage / "results"
    results.mkdir(parents=True)
    for i in range(tests):
        result = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}/result")
        (results / f"{result}-result.json").write_text(json.dumps({
            "uuid": str(result), "name": f"test_{name}_{i}", "fullName": f"tests.{name}#{i}",
            "historyId": uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}").hex, "status": "passed", "start": 1_700_000_000_000 + i,
            "stop": 1_700_000_000_100 + i, "labels": []}))
    config = stage / "allurerc.json"
    config.write_text(json.dumps(allure_config(f"{name} gate", root / f"{name}-report")))
    return config, stage, results


def _report_tests(report: Path) -> set[str]:
    return {t["name"] for t in json.loads((report / "test-results.json").read_text())["byId"].values()}


def _gone(pid: int, within: float = 10) -> bool:
    """The process ended (a zombie not yet reaped by its parent counts as ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_one_process_renders_the_same_report_as_allure_generate_for_several_gates(tmp_path):
    jobs = [_job(tmp_path, name) for name in ("S01", "S02", "S03")]
    with AllureRenderer(REPO) as renderer:
        for job in jobs:
            assert renderer.generate(*job) is None
        pid = renderer.pid
        assert renderer.starts == 1
    assert pid is not None and _gone(pid), "closing the renderer stops its process"
    for name in ("S01", "S02", "S03"):
        assert _report_tests(tmp_path / f"{name}-report") == {f"test_{name}_0", f"test_{name}_1"}
    # the CLI's own report of the same results: the same tests, statuses and summary
    config, stage, results = _job(tmp_path / "cli", "S01")
    subprocess.run(["node", str(REPO / "node_modules/allure/cli.js"), "generate", "--config", str(config),
                    "--cwd", str(stage), str(results)], cwd=stage, check=True, capture_output=True)
    ours = json.loads((tmp_path / "S01-report" / "summary.json").read_text())
    theirs = json.loads((tmp_path / "cli" / "S01-report" / "summary.json").read_text())
    for summary in (ours, theirs):       # what differs from one rendering to the next
        summary.pop("createdAt", None), summary.pop("duration", None), summary["meta"].pop("reportId")
        summary["newTests"] = sorted(summary["newTests"])
    assert ours == theirs
    assert (tmp_path / "S01-report" / "index.html").stat().st_size > 100_000


def test_a_failed_request_is_reported_and_the_next_is_served(tmp_path):
    config, stage, results = _job(tmp_path, "S04")
    broken = stage / "broken.json"
    broken.write_text("{not json")
    with AllureRenderer(REPO) as renderer:
        problem = renderer.generate(broken, stage, results)
        assert problem is not None and problem.startswith("allure generate failed"), problem
        assert renderer.generate(config, stage, results) is None
        assert renderer.starts == 1
    assert _report_tests(tmp_path / "S04-report") == {"test_S04_0", "test_S04_1"}


def test_a_renderer_killed_between_reports_is_replaced(tmp_path):
    first, second = _job(tmp_path, "S05"), _job(tmp_path, "S06")
    with AllureRenderer(REPO) as renderer:
        assert renderer.generate(*first) is None
        os.kill(renderer.pid, 9)
        assert _gone(renderer.pid)
        assert renderer.generate(*second) is None
        assert renderer.starts == 2
    assert _report_tests(tmp_path / "S06-report") == {"test_S06_0", "test_S06_1"}


def test_a_request_that_hangs_is_stopped_at_the_timeout(tmp_path):
    """A configuration that never finishes loading (an allurerc.mjs awaiting forever) holds the
    renderer: the request fails at its timeout, the process is killed, the next request gets a
    new one."""
    _, stage, results = _job(tmp_path, "S07")
    config = stage / "allurerc.mjs"
    config.write_text("await new Promise(() => {});\nexport default {};\n")
    with AllureRenderer(REPO) as renderer:
        assert renderer.generate(*_job(tmp_path, "S08")) is None
        hung = renderer.pid
        # a short timeout for the hanging request only: on a busy machine a good one takes seconds
        renderer.timeout = 3
        assert renderer.generate(config, stage, results) == "allure generate took longer than 3 s"
        renderer.timeout = GENERATE_TIMEOUT
        assert hung is not None and _gone(hung), "the hung renderer was killed"
        assert renderer.generate(*_job(tmp_path, "S09")) is None
        assert renderer.starts == 2
    assert _report_tests(tmp_path / "S09-report") == {"test_S09_0", "test_S09_1"}


KILLED_PARENT = """
import os, sys
from pathlib import Path
from harness.gates.allure_renderer import GENERATE_TIMEOUT, AllureRenderer
renderer = AllureRenderer(Path(sys.argv[1]))
assert renderer.generate(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])) is None
print(renderer.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def test_the_renderer_ends_when_the_harness_is_killed(tmp_path):
    config, stage, results = _job(tmp_path, "S10")
    done = subprocess.run([sys.executable, "-c", KILLED_PARENT, str(REPO), str(config), str(stage),
                           str(results)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    pid = int(done.stdout.split()[0])
    assert _gone(pid), f"the Node renderer {pid} outlived the harness process that started it"
