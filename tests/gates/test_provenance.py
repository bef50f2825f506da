"""One provenance collector (issue 7, section 2): the plugin's record and the packet's view come
from the same module, with one package list and one git helper, and keep the hypothesis seed."""

from __future__ import annotations

import importlib.util

from harness import provenance
from harness.gates.redaction import Redactor
from tests.gates.conftest import REPO, SECRET


def test_there_is_one_collector():
    assert importlib.util.find_spec("harness.gates.provenance") is None


def test_the_plugins_record_and_the_packets_view_agree(target):
    record = provenance.collect(target, None, "4242")
    assert record["hypothesis_seed"] == "4242"
    assert set(record["packages"]) <= set(provenance.KEY_PACKAGES)
    view = provenance.packet_provenance(record, None, Redactor())
    assert view.hypothesis_seed == "4242" and view.recorded_by_plugin
    assert view.target == "secretive" and view.backend == "dsn"
    assert view.packages == {**provenance.package_versions(), **record["packages"]}
    assert view.harness_commit == provenance.git_commit(REPO)


def test_a_record_without_fields_is_filled_and_its_gaps_named(target):
    view = provenance.packet_provenance({"target_commit": f"postgresql://u:{SECRET}@h/db"}, target,
                                        Redactor((SECRET,)))
    assert SECRET not in repr(view)
    assert "hypothesis_seed" in view.gaps and "postgres_version" in view.gaps
    assert view.target == "secretive"
