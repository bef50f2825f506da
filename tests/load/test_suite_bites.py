"""Proof the load suite bites: the slowed-list variant of the reference API is NO-GO on the
load items, the clean reference is GO on every item the suite feeds, nothing skipped.

Both runs use the short ``bite`` profile of ``loadtests/slo.yaml`` (the ci thresholds on a
12-second run) on one shared server, one after the other so they do not load each other.
"""

from __future__ import annotations

import json

import allure
import pytest

from tests.bite import run_family, shared_server, target_path

pytestmark = pytest.mark.slow

GATES = ("S04", "S05", "S11")
ITEMS = ("S04.query-performance-baseline", "S05.query-latency", "S11.load-slo", "S11.slo-instrumentation")
SLOW_LIST = {"S04.query-performance-baseline", "S05.query-latency", "S11.load-slo"}
# a 1.6 s list, and a list ten times slower than the reference measures (the ceilings' purpose)
VARIANTS = {"load-slow-list": SLOW_LIST, "load-tenfold-list": SLOW_LIST}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    out = tmp_path_factory.mktemp("load-bites")
    with pytest.MonkeyPatch.context() as patch, shared_server() as dsn:
        patch.setenv("HARNESS_LOAD_PROFILE", "bite")
        return {name: run_family("load", target_path(name), GATES, out / name, dsn=dsn)
                for name in ("reference", *VARIANTS)}


def _statuses(result) -> dict[str, str]:
    return {item: result[item.split(".")[0]].items.get(item) for item in ITEMS}


def test_the_clean_reference_is_go_on_every_load_item(verdicts):
    result = verdicts["reference"]
    statuses = _statuses(result)
    allure.attach(json.dumps(statuses, indent=2), name="verdict", attachment_type=allure.attachment_type.JSON)
    assert statuses == dict.fromkeys(ITEMS, "met"), result["S11"].log
    for gate in GATES:
        assert not result[gate].skipped(ITEMS), result[gate].skipped(ITEMS)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_slowed_endpoint_fails_its_slo_items(verdicts, name):
    result = verdicts[name]
    statuses = _statuses(result)
    allure.attach(json.dumps(statuses, indent=2), name="verdict", attachment_type=allure.attachment_type.JSON)
    expected = {i: ("failed" if i in VARIANTS[name] else "met") for i in ITEMS}
    assert statuses == expected, result["S11"].log
    assert result["S11"].decision == "NO-GO"
