"""The runner drives real locust processes: single-process and distributed (master + workers),
against a static HTTP server on loopback, bounded in time, leaving no process behind."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import psutil
import pytest

from harness.load import EndpointSlo, LoadFailure
from harness.load.profiles import LoadProfile, TenantMix
from harness.load.runner import LOCUST_WINDOW_S, STABLE_POINTS, run_locust, stable_percentiles

pytestmark = pytest.mark.slow
LOCUSTFILE = Path(__file__).parent / "data" / "static_locustfile.py"


@pytest.fixture(scope="module")
def static_server(tmp_path_factory):
    from harness.api.server import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp_path_factory.mktemp("static"))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            httpx.get(url, timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


def _profile(workers: int) -> LoadProfile:
    return LoadProfile("runner-test", 4, 4, 4, workers, TenantMix(),
                       (EndpointSlo("GET /", p95_ms=1000),))


def _locust_children() -> list[psutil.Process]:
    """Locust processes still running below this one. A zombie another test of this worker left
    runs nothing (its command line is gone; its name stays) and one that exits meanwhile is gone."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.ZombieProcess:
            continue
        except psutil.NoSuchProcess:
            continue
        if "locust" in command:
            found.append(child)
    return found


@pytest.mark.parametrize("workers", [0, 2])
def test_a_run_measures_requests_and_leaves_no_locust_behind(static_server, tmp_path, workers):
    progress = io.StringIO()
    run = run_locust(_profile(workers), static_server, LOCUSTFILE, tmp_path, {}, progress=progress,
                     every_s=1.0)
    assert run.processes == 1 + workers
    assert run.stats.endpoint("GET /").requests > 0
    assert run.stats.history and run.generator_cpu_s > 0
    assert "requests, p95" in progress.getvalue()
    assert not _locust_children()


def test_load_is_refused_for_anything_but_loopback(tmp_path):
    with pytest.raises(LoadFailure, match="loopback only"):
        run_locust(_profile(0), "http://example.com", LOCUSTFILE, tmp_path, {})


def _rows(p95s: list[float], users: int = 4) -> list[dict[str, str]]:
    return [{"Name": "Aggregated", "User Count": str(users), "50%": "10", "95%": str(v)} for v in p95s]


def test_percentiles_are_stable_only_at_full_load_once_locusts_window_is_full():
    steady = [40.0] * (LOCUST_WINDOW_S + STABLE_POINTS)
    assert stable_percentiles(_rows(steady), 4, 0.1)
    assert not stable_percentiles(_rows(steady[:-1]), 4, 0.1)          # window not yet full
    assert not stable_percentiles(_rows(steady, users=3), 4, 0.1)       # still spawning
    assert not stable_percentiles(_rows([*steady[:-1], 60.0]), 4, 0.1)  # p95 still moving
    assert stable_percentiles(_rows([*steady[:-1], 43.0]), 4, 0.1)
    assert not stable_percentiles(_rows([*steady[:-1], "N/A"]), 4, 0.1)  # type: ignore[list-item]


def test_a_run_stops_once_its_percentiles_are_stable_and_says_so(static_server, tmp_path):
    """A loose tolerance ends the load long before its cap; throughput counts the time sent."""
    profile = replace(_profile(0), duration_s=90, stable_tolerance=0.9)
    run = run_locust(profile, static_server, LOCUSTFILE, tmp_path, {})
    assert run.stopped.startswith("stable"), run.stopped
    assert run.wall_s < 60
    assert run.stats.endpoint("GET /").requests > 0
    assert 0 < run.stats.duration_s < 60
    assert not _locust_children()


def test_a_run_without_tolerance_runs_its_whole_duration(static_server, tmp_path):
    run = run_locust(replace(_profile(0), stable_tolerance=None), static_server, LOCUSTFILE, tmp_path, {})
    assert run.stopped.startswith("cap") and run.stats.duration_s == 4
