"""``./dev test`` does not collect ``scenarios/`` directly (pyproject ``testpaths``): the bite
file's reference cases run each family's suite against the reference for the family's gates.
This proves that leaves no scenario test out: every test under ``scenarios/`` is one a
family's reference run selects.

The collections run one after the other in one interpreter (``pytest.main`` per collection,
each with its own configuration and the harness plugin's own selection by gate): ten processes,
one per collection, spent ~9 s of CPU starting Python and importing the same modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.families import families
from tests.bite import ROOT

pytestmark = pytest.mark.slow

_COLLECT = """
import json, sys
import pytest

class Selected:
    def pytest_collection_finish(self, session):
        self.ids = [item.nodeid for item in session.items]

found = {}
for name, args in json.loads(sys.argv[1]).items():
    selected = Selected()
    code = pytest.main(["--co", "-q", "-p", "no:cacheprovider", *args], plugins=[selected])
    found[name] = {"exit": int(code), "ids": getattr(selected, "ids", [])}
with open(sys.argv[2], "w") as out:
    json.dump(found, out)
"""


def _collected(runs: dict[str, list[str]], tmp_path) -> dict[str, set[str]]:
    """Each run's selected test ids, every run a ``pytest --co`` with its arguments."""
    found = tmp_path / "collected.json"
    done = subprocess.run([sys.executable, "-c", _COLLECT, json.dumps(runs), str(found)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(found.read_text())
    failed = {name: r["exit"] for name, r in result.items() if r["exit"] != 0}
    assert not failed, f"collections that failed: {failed}\n{done.stdout[-2000:]}"
    return {name: set(r["ids"]) for name, r in result.items()}


def test_every_scenario_test_is_run_by_its_familys_reference_bite_case(tmp_path):
    runs = {"everything": ["scenarios"]}
    for fam in families():
        runs[fam.name] = [f"scenarios/{fam.name}", *(a for gate in fam.gates for a in ("--harness-gate", gate))]
    collected = _collected(runs, tmp_path)
    everything = collected.pop("everything")
    assert everything, "no scenario test was collected"
    assert all(collected.values()), {name: len(ids) for name, ids in collected.items()}
    assert everything - set().union(*collected.values()) == set()
