"""Tests marked ``alone`` run last under xdist, with no other worker running (harness.alone).

One pytest run with ``-n 2 --dist loadfile`` (what ``./dev test`` and ``harness gate --workers``
use): the timed test must find every other test done and the other worker's session ended
(its session fixture torn down); a caller's ``-m`` still deselects, an alone test included.
With ``--harness-alone anywhere`` (the scheduling the plugin replaces) the same timed test runs
beside the slow file and fails, so the check can fail."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FILES = {
    "conftest.py": """
        import os
        from pathlib import Path
        import pytest

        LOG = Path(__file__).with_name("events.log")

        def pytest_configure(config):
            config.addinivalue_line("markers", "excluded: deselected by the caller's -m")

        def record(event):
            with LOG.open("a") as log:
                log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'serial')} {event}\\n")

        @pytest.fixture(scope="session", autouse=True)
        def session_end_recorded():
            yield
            record("session-ended")

        @pytest.fixture
        def events():
            return record
        """,
    # the slow file keeps one worker busy while the other could have taken the timed test
    "test_slow.py": """
        import time

        def test_slow_1(events):
            time.sleep(1.5)
            events("done test_slow_1")

        def test_slow_2(events):
            time.sleep(1.5)
            events("done test_slow_2")
        """,
    "test_quick.py": """
        def test_quick(events):
            events("done test_quick")
        """,
    # a file holding both kinds: its plain test runs with the rest, its alone test last
    "test_timed.py": """
        import os
        from pathlib import Path
        import pytest

        def test_plain_in_timed_file(events):
            events("done test_plain_in_timed_file")

        @pytest.mark.alone
        def test_judged_alone():
            log = Path(__file__).with_name("events.log").read_text().splitlines()
            done = {line.split()[-1] for line in log if " done " in line}
            assert done >= {"test_slow_1", "test_slow_2", "test_quick", "test_plain_in_timed_file"}, log
            me = os.environ["PYTEST_XDIST_WORKER"]
            ended = {line.split()[0] for line in log if line.endswith("session-ended")}
            assert ended == {"gw0", "gw1"} - {me}, f"another worker still running: {log}"

        @pytest.mark.alone
        @pytest.mark.excluded
        def test_deselected_by_the_caller():
            raise AssertionError("the caller's -m deselects an alone test too")
        """,
}


def _suite(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-n", "2", "--dist", "loadfile", "-m", "not excluded", *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_alone_tests_run_last_with_no_other_worker_and_the_callers_m_still_selects(tmp_path):
    run = _pytest(_suite(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout, run.stdout   # the deselected one would fail


@pytest.mark.slow
def test_scheduled_like_any_test_the_timed_test_runs_beside_others(tmp_path):
    run = _pytest(_suite(tmp_path), "--harness-alone", "anywhere")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "test_judged_alone" in run.stdout and "4 passed" in run.stdout, run.stdout
