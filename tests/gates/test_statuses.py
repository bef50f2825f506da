"""Item statuses beyond met and failed: **error** (a test that errored in setup or harness code,
Allure ``broken``, shown apart from failures with its cause), **not-applicable** (a capability the
target declares unsupported; never met, so NO-GO unless waived), and Allure's own flaky flag."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.catalog import load_catalog
from harness.gates.waivers import Waiver
from tests.gates.conftest import NOW, REPO, TODAY, write

SCENARIO = '''\
import pytest
from harness.evidence import EvidenceFailure


@pytest.fixture
def broken_setup():
    raise RuntimeError("could not seed the workspace: harness fixture crashed")


@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
def test_errors_in_setup(broken_setup):
    pass


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_fails_on_the_target():
    raise EvidenceFailure("no audit row for the role change", context=[("rows seen", "[]")])


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_harness_code_raises():
    raise KeyError("harness bug")
'''


@pytest.fixture(scope="module")
def broken_results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    (root / "test_scenario.py").write_text(SCENARIO)
    out = root / "allure-results"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                           "allure_pytest.plugin", "-p", "harness.plugin", "--alluredir", str(out),
                           "--harness-target", str(root / "no-target.yaml"), "test_scenario.py"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    return out


def _build(catalog, results_dir, tmp_path, target=None, waivers=()):
    return build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results_dir,
                                     out_root=tmp_path / "packets", target=target, waivers=waivers,
                                     allure=False, now=NOW))


def test_a_setup_error_is_error_with_its_cause_and_a_failed_check_is_failed(catalog, broken_results, tmp_path):
    built = _build(catalog, broken_results, tmp_path)
    items = {i["id"]: i for i in built.data["items"]}
    negatives = items["S03.cross-tenant-negatives"]
    assert negatives["status"] == "error"
    assert "errored in setup or harness code" in negatives["reason"]
    assert "could not seed the workspace" in negatives["reason"]
    (test,) = negatives["tests"]
    assert test["status"] == "broken" and test["error"] is True
    # one failure on the target outweighs an error beside it
    assert items["S03.audit-trail"]["status"] == "failed"
    assert "test_fails_on_the_target" in items["S03.audit-trail"]["reason"]
    assert built.data["summary"]["error"] == 1 and built.data["decision"] == "NO-GO"

    html = (built.directory / "index.html").read_text()
    errors = html.split('<section id="errors">')[1].split("</section>")[0]
    assert "could not seed the workspace" in errors and "harness bug" in errors
    assert "test_fails_on_the_target" not in errors
    failures = html.split('<section id="failures">')[1].split("</section>")[0]
    assert "no audit row for the role change" in failures and "harness bug" not in failures
    md = (built.directory / "packet.md").read_text()
    assert "### Errors (in setup or harness code, not failures of the target)" in md
    errors_md = md.split("### Errors (in setup or harness code, not failures of the target)")[1]
    assert "could not seed the workspace" in errors_md and "harness bug" in errors_md
    # the first screen names the cause before any section of evidence
    why = md.split("### Why NO-GO")[1].split("### Waivers")[0]
    assert "`S03.cross-tenant-negatives`: **harness error**: RuntimeError: could not seed" in why


def test_allure_flaky_flag_counts_as_flaky(catalog, results, tmp_path):
    """Defect 8: a pass that Allure marks statusDetails.flaky was counted as met."""
    results.add("t1", evidence=("S03.cross-tenant-negatives",), extra={"statusDetails": {"flaky": True}})
    item = _build(catalog, results.directory, tmp_path).data["items"][0]
    assert item["status"] == "flaky" and "marked flaky by Allure" in item["reason"]


CATALOG_WITH_CAPABILITY = """\
version: 1
gates:
  - id: S03
    name: Tenant isolation gate
    objective: o
    stories: [F2-E3-S1]
    items:
      - id: S03.cross-tenant-negatives
        kind: test
        stories: [F2-E3-S1]
        proves: p
      - id: S03.webhooks
        kind: test
        capability: webhooks
        waivable: {waivable}
        proves: Webhooks are deduplicated.
"""


@pytest.mark.parametrize("waivable", [True, False])
def test_an_unsupported_capability_is_not_applicable_and_never_met(tmp_path, results, target_root, waivable):
    catalog = load_catalog(write(tmp_path / "gates.yaml", CATALOG_WITH_CAPABILITY.format(waivable=str(waivable).lower())))
    spec = (target_root / "target.yaml").read_text() + "unsupported: {webhooks: this product sends none}\n"
    write(target_root / "target.yaml", spec)
    from harness.target import load_target

    target = load_target(target_root / "target.yaml")
    results.add("t1", evidence=("S03.cross-tenant-negatives",))
    results.add("t_hook", "skipped", evidence=("S03.webhooks",), message="not applicable")
    built = _build(catalog, results.directory, tmp_path, target)
    items = {i["id"]: i for i in built.data["items"]}
    assert items["S03.webhooks"]["status"] == "not-applicable"
    assert items["S03.webhooks"]["reason"] == "the target does not support webhooks: this product sends none"
    assert built.decision == "NO-GO"
    assert built.data["not_applicable"] == [{"item": "S03.webhooks", "capability": "webhooks",
                                             "reason": items["S03.webhooks"]["reason"]}]
    first_screen = (built.directory / "index.html").read_text().split('<section id="items">')[0]
    assert 'id="not-applicable"' in first_screen and "this product sends none" in first_screen
    assert "### Not applicable to this target" in (built.directory / "packet.md").read_text().split("### Evidence items")[0]

    waiver = Waiver(item="S03.webhooks", reason="no webhooks in beta", approver="lead",
                    expires=TODAY + dt.timedelta(days=30))
    waived = _build(catalog, results.directory, tmp_path / "w", target, (waiver,))
    assert waived.decision == ("GO" if waivable else "NO-GO")
    status = {i["id"]: i["status"] for i in waived.data["items"]}["S03.webhooks"]
    assert status == ("waived" if waivable else "not-applicable")


def test_not_applicable_needs_the_declaration_not_just_skips(tmp_path, results, target):
    """Without ``unsupported`` in the spec a capability item with only skips is missing."""
    catalog = load_catalog(write(tmp_path / "gates.yaml", CATALOG_WITH_CAPABILITY.format(waivable="true")))
    results.add("t1", evidence=("S03.cross-tenant-negatives",))
    results.add("t_hook", "skipped", evidence=("S03.webhooks",))
    built = _build(catalog, results.directory, tmp_path, target)
    assert {i["id"]: i["status"] for i in built.data["items"]}["S03.webhooks"] == "missing"


def test_the_plugin_records_unsupported_capabilities_for_packets_built_elsewhere(tmp_path, results):
    """``packet build`` without ``--target`` still knows what the target declared."""
    catalog = load_catalog(write(tmp_path / "gates.yaml", CATALOG_WITH_CAPABILITY.format(waivable="true")))
    results.provenance({"target": "t", "unsupported": {"webhooks": "none sent"}})
    results.add("t1", evidence=("S03.cross-tenant-negatives",))
    built = _build(catalog, results.directory, tmp_path)
    assert json.loads((built.directory / "packet.json").read_text())["not_applicable"][0]["item"] == "S03.webhooks"
