"""Helpers for the harness's own tests: running pytest in a subprocess and finding leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def leftover_servers(under: Path | str) -> list[str]:
    """Postgres servers still alive whose data directory lies under ``under``.

    Scoped to one directory because other harness runs (other sessions, other checkouts)
    may be running on the same machine, and their servers are none of this test's business.
    """
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(under) in cmd:
            found.append(f"{proc.pid} {cmd[:160]}")
    return found


def private_tmp(tmp_path: Path) -> Path:
    """The TMPDIR a pytest subprocess gets, so its run directory (and server) is findable."""
    path = tmp_path / "tmp"
    path.mkdir(exist_ok=True)
    path.chmod(0o755)
    return path


def run_pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "TMPDIR": str(private_tmp(tmp_path)), **(env or {})}
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
