"""The runner drives real locust processes: single-process and distributed (master + workers),
against a static HTTP server on loopback, bounded in time, leaving no process behind."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness.load import EndpointSlo, LoadFailure
from harness.load.profiles import LoadProfile, TenantMix
from harness.load.runner import run_locust

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
    return [p for p in psutil.Process().children(recursive=True)
            if "locust" in " ".join(p.cmdline())]


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
