"""Gate catalog, decision rules and gate packets: test results turned into GO / NO-GO.

The flow, one module per step: :mod:`~harness.gates.catalog` (``gates.yaml``),
:mod:`~harness.gates.results` (Allure results), :mod:`~harness.gates.documents` (document
evidence), :mod:`~harness.gates.waivers`, :mod:`~harness.gates.decision` (the rules, pure),
:mod:`~harness.gates.shards` (each results directory's provenance, from the one collector
:mod:`harness.provenance`, and its sealed digest), :mod:`~harness.gates.model` (``packet.json``),
:mod:`~harness.gates.render` (Markdown and HTML via ``harness/templates``, with
:mod:`~harness.gates.causes` for "Why NO-GO" and :mod:`~harness.gates.plots` for the bars),
:mod:`~harness.gates.allure_report` (with :mod:`~harness.gates.behaviours`, its epic / feature /
story tree), :mod:`~harness.gates.manifest`,
:mod:`~harness.gates.baseline`, :mod:`~harness.gates.packets_folder` (lock, staging, atomic
swap) and :mod:`~harness.gates.assemble`, which ties them together; :mod:`~harness.gates.signing`
signs and verifies packets. :mod:`~harness.gates.runner` runs the suites for ``harness gate``.
"""

from harness.gates.assemble import BuildRequest, BuiltPacket, build_packet
from harness.gates.catalog import Catalog, EvidenceItem, Gate, load_catalog
from harness.gates.decision import GateVerdict, ItemVerdict, decide, evaluate_item
from harness.gates.manifest import verify, write_manifest
from harness.gates.results import ResultSet, TestCase, read_results
from harness.gates.waivers import Waiver, load_waivers

__all__ = [
    "BuildRequest",
    "BuiltPacket",
    "Catalog",
    "EvidenceItem",
    "Gate",
    "GateVerdict",
    "ItemVerdict",
    "ResultSet",
    "TestCase",
    "Waiver",
    "build_packet",
    "decide",
    "evaluate_item",
    "load_catalog",
    "load_waivers",
    "read_results",
    "verify",
    "write_manifest",
]
