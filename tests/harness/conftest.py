"""Helpers for the harness's own tests: running pytest in a subprocess and finding leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def leftover_servers() -> list[str]:
    """Postgres servers or containers started for a harness run that are still alive."""
    found = []
    own = f"harness-run-{os.environ.get('HARNESS_RUN_ID', '-')}"  # this test session's own server
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and "harness-run-" in cmd and own not in cmd:
            found.append(f"{proc.pid} {cmd[:120]}")
    return found


def run_pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HARNESS_RUN_ID", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--harness-target", str(ROOT / "target.yaml"), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture
def pytester_dir(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    return tmp_path


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The image for docker-backend tests. They are deselected unless one is named."""
    image = os.environ.get("HARNESS_DOCKER_IMAGE")
    if not image:
        pytest.fail("docker tests need HARNESS_DOCKER_IMAGE (run them via .ci/run, or deselect "
                    "with -m 'not docker')", pytrace=False)
    return image
