"""Fixtures every folder of the harness's own tests may use."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from harness.lifecycle import reap, server_recorded


@pytest.fixture
def new_run_id() -> Iterator[Callable[[], str]]:
    """Run ids for a test that drives :class:`harness.lifecycle.Run` itself, as the plugin's
    fixtures do. The plugin's controller removes its run's folder at the end (``reap``); so does
    this for each id it gave, once the test's runs have stopped their server (a server still
    recorded is left to the next run's stale-run cleanup, which stops it by PID). Without it,
    each such test left a ``harness-run-*`` folder holding its lock file in the temp dir."""
    given: list[str] = []

    def new() -> str:
        given.append(uuid.uuid4().hex)
        return given[-1]

    yield new
    for run_id in given:
        if not server_recorded(run_id):
            reap(None, run_id)
