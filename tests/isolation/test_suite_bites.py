"""Proof the suite bites: gate S03 is NO-GO on the right item for every known-bad variant of the
reference implementation, and GO on every item for the clean reference.

The verdict is the gate packet's (``packet.json``: the decision and each item's status), built by
the ``harness`` command line with the catalog's own decision rules. Each run is a separate
process with its own embedded server, which the app-role-bypassrls variant needs (roles are
cluster-wide); runs go two at a time. :func:`run_gate_s03` is the only place that knows how a
gate is run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import allure
import pytest

from harness.target import load_target

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HARNESS = [sys.executable, "-m", "harness"]
# the S03 items this suite feeds (the catalog's S03.risk-register is a document, not ours)
S03_ITEMS = ("S03.policy-coverage", "S03.cross-tenant-negatives", "S03.role-matrix", "S03.membership-audit")
# variant -> the S03 items it must turn NO-GO; every other item of this suite must stay met
VARIANTS = {
    "rls-not-forced": {"S03.policy-coverage"},
    "using-true": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
    "view-without-security-invoker": {"S03.policy-coverage"},
    "app-role-bypassrls": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
    "table-without-workspace-id": {"S03.policy-coverage"},
    "missing-delete-policy": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
    "viewer-can-write": {"S03.role-matrix"},
}


@dataclass(frozen=True)
class GateVerdict:
    decision: str                        # GO / NO-GO
    items: dict[str, str]                # item -> met / failed / missing / flaky / waived
    tests: dict[str, dict[str, str]]     # item -> {test name: passed / failed / broken / skipped}
    log: str                             # the end of the commands' output, for a failure message

    def failing_tests(self) -> dict[str, list[str]]:
        return {item: sorted(t for t, s in tests.items() if s in ("failed", "broken"))
                for item, tests in self.tests.items() if any(s in ("failed", "broken") for s in tests.values())}


def run_gate_s03(target: Path, out: Path) -> GateVerdict:
    """Gate S03 against ``target``, verdict read from the packet it writes under ``out``.

    ``harness gate`` runs the suites in the target spec's folder, which for a variant
    (``reference_impl/variants/<name>/``) holds no ``scenarios/``: there the same pytest command
    runs from the repository and ``harness packet build`` makes the packet from its results.
    Once ``harness gate`` runs the harness's own suites wherever the spec lives, the first
    branch serves every target.
    """
    from harness.gates.runner import pytest_command  # the very command `harness gate` runs

    env = {k: v for k, v in os.environ.items()
           if k not in ("HARNESS_RUN_ID", "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST")}
    env["HARNESS_BACKEND"] = "embedded"  # a private server per run: the bypassrls variant alters a role
    packets, results = out / "packets", out / "results"
    common = ["--out", str(packets), "--catalog", str(ROOT / "gates.yaml"), "--no-allure", "-q"]
    if target.parent == ROOT:
        steps = [[*HARNESS, "gate", "S03", "--target", str(target), "--results", str(results), *common]]
    else:
        steps = [pytest_command(load_target(target), ("S03",), results, quiet=True),
                 [*HARNESS, "packet", "build", "--results", str(results), "--gate", "S03",
                  "--target", str(target), *common]]
    log = []
    for command in steps:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        log.append(f"$ {' '.join(command[1:6])} ... -> exit {done.returncode}\n"
                   f"{done.stdout[-2500:]}{done.stderr[-1500:]}")
    packet_file = packets / "S03" / "packet.json"
    assert packet_file.is_file(), "no packet was written:\n" + "\n".join(log)
    packet = json.loads(packet_file.read_text())
    return GateVerdict(packet["decision"], {i["id"]: i["status"] for i in packet["items"]},
                       {i["id"]: {t["name"]: t["status"] for t in i["tests"]} for i in packet["items"]},
                       "\n".join(log))


class _GateRuns:
    """Gate runs two at a time: asking for one verdict starts the next selected run as well."""

    def __init__(self, names: list[str], out: Path, prefetch: bool) -> None:
        self.names, self.out, self.prefetch = names, out, prefetch
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: dict[str, Future] = {}

    def verdict(self, name: str) -> GateVerdict:
        self._start(name)
        if self.prefetch and name in self.names and self.names.index(name) + 1 < len(self.names):
            self._start(self.names[self.names.index(name) + 1])
        return self.futures[name].result()

    def _start(self, name: str) -> None:
        if name not in self.futures:
            target = ROOT / "target.yaml" if name == "reference" else \
                ROOT / "reference_impl" / "variants" / name / "target.yaml"
            self.futures[name] = self.pool.submit(run_gate_s03, target, self.out / name)


@pytest.fixture(scope="module")
def gate_runs(request, tmp_path_factory):
    names = list(dict.fromkeys(
        item.callspec.params["target_name"] for item in request.session.items
        if getattr(item, "module", None) is request.module and hasattr(item, "callspec")
        and "target_name" in item.callspec.params))
    # under xdist every worker sees every item: prefetching would run variants twice
    runs = _GateRuns(names, tmp_path_factory.mktemp("gates"), prefetch=not hasattr(request.config, "workerinput"))
    yield runs
    runs.pool.shutdown(wait=True, cancel_futures=True)


def _attach(verdict: GateVerdict) -> None:
    allure.attach(json.dumps({"decision": verdict.decision, "items": verdict.items,
                              "failing tests": verdict.failing_tests()}, indent=2),
                  name="gate S03 verdict", attachment_type=allure.attachment_type.JSON)


@pytest.mark.parametrize("target_name", ["reference"])
def test_the_clean_reference_is_go_on_every_s03_item(gate_runs, target_name):
    """Every S03 item this suite feeds has tests, and every one of them ran and passed."""
    verdict = gate_runs.verdict(target_name)
    _attach(verdict)
    assert {i: verdict.items.get(i) for i in S03_ITEMS} == dict.fromkeys(S03_ITEMS, "met"), verdict.log
    skipped = {i: [t for t, s in verdict.tests[i].items() if s == "skipped"] for i in S03_ITEMS}
    assert not any(skipped.values()), f"skipped tests are never evidence: {skipped}"
    assert verdict.decision == "GO"


@pytest.mark.parametrize("target_name", list(VARIANTS))
def test_a_known_bad_variant_is_no_go_on_the_right_item(gate_runs, target_name):
    """The variant's mistake turns its items NO-GO, and only those: the suite is precise."""
    verdict = gate_runs.verdict(target_name)
    _attach(verdict)
    expected = {i: ("failed" if i in VARIANTS[target_name] else "met") for i in S03_ITEMS}
    assert {i: verdict.items.get(i) for i in S03_ITEMS} == expected, \
        f"failing tests: {verdict.failing_tests()}\n{verdict.log}"
    assert verdict.decision == "NO-GO"
