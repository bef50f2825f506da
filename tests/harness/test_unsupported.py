"""One contract for an operation a target lacks, judged on real packets.

An adapter whose analytics operations raise ``harness.Unsupported`` (or ``NotImplementedError``)
runs the standards family's analytics tests and the packet for S10 is built by the ``harness``
command line, as a release lead would get it:

- the spec declares ``unsupported: {analytics: reason}`` -> ``S10.analytics-event-integrity`` is
  **not applicable** with that reason;
- the spec does not -> the item is an **error** whose tests name the missing declaration
  (``unsupported.analytics``, the spec file and the fix), never met and never a failure.
"""

from __future__ import annotations

import pytest

from tests.bite import ROOT, run_family, shared_server

pytestmark = pytest.mark.slow

ITEM = "S10.analytics-event-integrity"
ADAPTER = '''
from harness import Unsupported
from reference_impl.adapter import ReferenceAdapter


class NoAnalyticsPipeline(ReferenceAdapter):
    """The reference, but its events go to a vendor's pipeline, not this database."""

    def analytics_taxonomy(self):
        raise Unsupported("events go to the vendor's pipeline")

    def track_event(self, *args, **kwargs):
        raise NotImplementedError

    def analytics_events(self, workspace):
        raise Unsupported("events go to the vendor's pipeline")
'''


def _spec(folder, declared: bool):
    folder.mkdir()
    (folder / "no_analytics.py").write_text(ADAPTER)
    text = (ROOT / "target.yaml").read_text()
    text = text.replace("script_location: reference_impl/migrations",
                        f"script_location: {ROOT / 'reference_impl' / 'migrations'}")
    text = text.replace("seeds: [fixtures/seeds/reference.yaml]",
                        f"seeds: [{ROOT / 'fixtures' / 'seeds' / 'reference.yaml'}]")
    text = text.replace("adapter: reference_impl.adapter:ReferenceAdapter",
                        "adapter: no_analytics.py:NoAnalyticsPipeline")
    if declared:
        text += "unsupported:\n  analytics: our events go to a vendor's pipeline\n"
    (folder / "target.yaml").write_text(text)
    return folder / "target.yaml"


@pytest.fixture(scope="module")
def packets(tmp_path_factory):
    out = tmp_path_factory.mktemp("unsupported")
    with shared_server() as dsn:
        return {declared: run_family("standards", _spec(out / f"spec-{declared}", declared), ("S10",),
                                     out / f"run-{declared}", dsn=dsn, pytest_args=("-k", "analytics"))
                for declared in (True, False)}


def test_a_declared_gap_is_not_applicable_with_its_reason(packets):
    verdict = packets[True]["S10"]
    assert verdict.items[ITEM] == "not-applicable", verdict.log
    assert set(verdict.tests[ITEM].values()) == {"skipped"}, verdict.tests[ITEM]
    packet = verdict.packet
    (entry,) = [i for i in packet["items"] if i["id"] == ITEM]
    assert "our events go to a vendor's pipeline" in entry["reason"]


def test_an_undeclared_gap_is_an_error_naming_the_declaration(packets):
    verdict = packets[False]["S10"]
    assert verdict.items[ITEM] == "error", verdict.log
    assert set(verdict.tests[ITEM].values()) == {"broken"}, verdict.tests[ITEM]
    packet = verdict.packet
    (entry,) = [i for i in packet["items"] if i["id"] == ITEM]
    messages = [t["message"] for t in entry["tests"]]
    assert len(messages) == 2
    for message in messages:
        assert "unsupported.analytics" in message and "target.yaml" in message, message
        assert "fix: implement it in the adapter, or add unsupported: {analytics: <reason>}" in message
