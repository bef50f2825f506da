"""Waiting for a restored cluster to leave recovery notices a postmaster that exits. A restore
that cannot reach its target may accept read-only connections first (so ``pg_ctl start -w``
returns) and then end recovery and shut down: the wait polled the closed port for its whole
limit, 120 s, and the rehearsal of graphile-starter with an archive that keeps nothing took
125 s in one run of four instead of 4-6 s. A postmaster killed outright after its start is the
same exit, on every run."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from harness.children import scratch_dir
from harness.errors import BackendUnavailable
from harness.recovery.cluster import Cluster, RehearsalDirs

pytestmark = pytest.mark.slow


def test_a_postmaster_that_exits_fails_the_wait_at_once_with_its_log():
    with scratch_dir("harness-recovery-") as folder:
        cluster = Cluster.create(RehearsalDirs(folder), "source", {})
        try:
            cluster.wait_ready(timeout=60)            # a running primary: ready at once
            pid = cluster.pid
            os.kill(pid, signal.SIGKILL)
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="stopped before it left recovery") as stopped:
                cluster.wait_ready(timeout=60)
            assert time.monotonic() - started < 10
            assert "server log:" in str(stopped.value)
            assert cluster.pid is None
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        finally:
            cluster.stop()
