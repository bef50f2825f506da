"""``./dev test`` does not collect ``scenarios/`` directly (pyproject ``testpaths``): the bite
file's reference cases run each family's suite against the reference for the family's gates.
This proves that leaves no scenario test out: every test under ``scenarios/`` is one a
family's reference run selects."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.families import families
from tests.bite import ROOT

pytestmark = pytest.mark.slow


def _collected(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_every_scenario_test_is_run_by_its_familys_reference_bite_case():
    everything = _collected("scenarios")
    by_families = set()
    for fam in families():
        by_families |= _collected(f"scenarios/{fam.name}",
                                  *(a for gate in fam.gates for a in ("--harness-gate", gate)))
    assert everything, "no scenario test was collected"
    assert everything - by_families == set()
