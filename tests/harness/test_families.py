"""The registry of families: each family one declared object, capability names checked wherever
they appear (the spec's ``unsupported:``, the catalog, ``require``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

from harness.capabilities import UndeclaredCapability, require
from harness.errors import ConfigError
from harness.evidence import EvidenceFailure
from harness.families import capabilities, capability_of_operation, families, family, protocol_of
from harness.gates.catalog import load_catalog
from harness.target import load_target
from tests.bite import target_path

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "reference_impl" / "variants"
GOOD = (ROOT / "target.yaml").read_text().replace(
    "script_location: reference_impl/migrations", f"script_location: {ROOT / 'reference_impl/migrations'}")


def test_every_family_is_one_complete_declared_object():
    names = [f.name for f in families()]
    assert len(names) == len(set(names)) == 9
    for fam in families():
        assert (ROOT / fam.scenarios).is_dir(), fam.name
        assert issubclass(fam.failure, EvidenceFailure), fam.name
        assert fam.items and all(item.split(".", 1)[0] in fam.gates for item in fam.items)
        assert fam.profile is None or (ROOT / fam.profile).is_file(), fam.profile
        for protocol in fam.capabilities.values():
            assert protocol is None or issubclass(protocol, Protocol), protocol
        for name, variant in fam.variants.items():
            assert target_path(name).is_file(), name
            assert variant.fails and variant.fails <= set(fam.items), name
            assert not variant.fails & (variant.stays_met or set()), name


def test_every_variant_folder_belongs_to_a_family_and_has_its_prefix():
    declared = {name for fam in families() for name in fam.variants if "/" not in name}
    folders = {p.parent.name for p in VARIANTS.glob("*/target.yaml")}
    assert folders == declared, folders ^ declared
    for fam in families():
        prefixed = {name for name in folders if fam.variant_prefix and name.startswith(fam.variant_prefix)}
        assert prefixed <= set(fam.variants), (fam.name, prefixed - set(fam.variants))


def test_a_variant_compared_with_the_reference_names_a_baseline_the_harness_knows():
    from harness.baselines import BASELINE_GATES

    baselines = {(fam.name, name): v.baseline for fam in families()
                 for name, v in fam.variants.items() if v.baseline}
    assert baselines, "no variant is judged against the reference's packet"
    assert {b for b in baselines.values()} <= set(BASELINE_GATES), baselines


def test_a_capability_name_finds_its_protocol_and_its_operations():
    from harness.replay import EventsCapability

    assert protocol_of("events") is EventsCapability
    assert family("replay").capabilities["events"] is EventsCapability
    assert capability_of_operation("track_event") == "analytics"
    assert capability_of_operation("create_user") is None   # two capabilities share it
    assert "models-match" in capabilities() and capabilities()["models-match"] is None


def test_require_finds_the_protocol_by_name_and_names_a_missing_declaration():
    spec = load_target(ROOT / "target.yaml", backend="embedded")

    class NoEvents:
        pass

    with pytest.raises(UndeclaredCapability) as err:
        require(NoEvents(), "events", spec)
    assert "unsupported.events" in str(err.value) and "target.yaml" in str(err.value)
    with pytest.raises(ConfigError) as err:
        require(NoEvents(), "event", spec)
    assert "did you mean 'events'" in err.value.fix


@pytest.mark.parametrize(("name", "suggestion"), [("webhook", "'webhooks'"),
                                                  ("membership-audits", "'membership-audit'")])
def test_an_unknown_unsupported_capability_is_refused_with_a_suggestion(tmp_path, name, suggestion):
    spec = tmp_path / "target.yaml"
    spec.write_text(GOOD + f"unsupported:\n  {name}: we have none\n")
    with pytest.raises(ConfigError) as err:
        load_target(spec, backend="embedded")
    assert err.value.field == f"unsupported.{name}"
    assert suggestion in err.value.fix and "is not a capability of any family" in err.value.problem


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_an_unknown_unsupported_capability_exits_2_in_one_line(tmp_path):
    spec = tmp_path / "target.yaml"
    spec.write_text(GOOD + "unsupported:\n  webhook: we have none\n")
    done = subprocess.run([sys.executable, "-m", "harness", "gate", "S09", "--target", str(spec),
                           "--out", str(tmp_path / "packets"), "--results", str(tmp_path / "results")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "unsupported.webhook" in done.stderr and "did you mean 'webhooks'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "packets" / "S09").exists()


def test_an_unknown_catalog_capability_is_refused_with_a_suggestion(tmp_path):
    catalog = tmp_path / "gates.yaml"
    catalog.write_text((ROOT / "gates.yaml").read_text().replace("capability: entitlements",
                                                                 "capability: entitlement", 1))
    with pytest.raises(ConfigError) as err:
        load_catalog(catalog)
    assert err.value.field.endswith("capability") and "did you mean 'entitlements'" in err.value.fix


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_a_declared_gap_raised_by_a_user_suite_is_not_applicable(tmp_path):
    """An adapter operation raising NotImplementedError in a test that never called require():
    the registry finds the operation's capability, and the spec's declaration decides."""
    (tmp_path / "no_events.py").write_text(
        "class NoAnalytics:\n"
        "    def __init__(self, db):\n        self.db = db\n\n"
        "    def analytics_taxonomy(self):\n        raise NotImplementedError\n")
    (tmp_path / "test_user_suite.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.evidence('S10.analytics-event-integrity')\n"
        "def test_taxonomy(harness_target):\n"
        "    adapter = harness_target.load_adapter_class()(None)\n"
        "    adapter.analytics_taxonomy()\n")
    base = GOOD.replace("reference_impl.adapter:ReferenceAdapter", "no_events.py:NoAnalytics")
    outcomes = {}
    for declared in (True, False):
        spec = tmp_path / f"target-{declared}.yaml"
        spec.write_text(base + ("unsupported:\n  analytics: none here\n" if declared else ""))
        done = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "test_user_suite.py"),
                               "-q", "-rsE", "-p", "no:cacheprovider", "-p", "no:randomly",
                               "--harness-target", str(spec), "--rootdir", str(tmp_path)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        outcomes[declared] = done.stdout
    assert "1 skipped" in outcomes[True] and "not applicable" in outcomes[True], outcomes[True]
    assert "analytics_taxonomy()" in outcomes[True]
    assert "UndeclaredCapability" in outcomes[False], outcomes[False]
    assert "unsupported.analytics" in outcomes[False]


# a bare workspace id bound through one setting, instead of the spec's binding and a principal
BY_HAND = (re.compile(r"\bbound?_workspace\("), re.compile(r"bind_workspace\("),
           re.compile(r"RowFactory\([^)]*tenant_setting"), re.compile(r"set_config[^\n]*tenant_setting"),
           re.compile(r"Workload\([^)]*tenant_setting"))


def test_every_harness_module_binds_principals_through_tenancy_bound():
    """One road for binding: no harness module binds a bare workspace id or a setting by hand
    (``bound_workspace`` stays a shorthand for users' own tests)."""
    harness = ROOT / "harness"
    offenders = []
    for path in harness.rglob("*.py"):
        if path.name == "tenancy.py" or path == harness / "__init__.py":
            continue
        text = path.read_text()
        if any(pattern.search(text) for pattern in BY_HAND):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_reading_the_registry_leaves_the_heavy_libraries_to_the_checks_that_use_them():
    """Every pytest run that loads a target reads the registry (capability names): importing
    Alembic's autogenerate (and SQLAlchemy's engine) or jsonschema there cost each run ~0.4 s
    of CPU, for the one migrations check and the two analytics checks that use them."""
    probe = ("import sys; from harness.families import capabilities, families; families(); capabilities(); "
             "print(sorted(m for m in ('alembic', 'sqlalchemy', 'jsonschema') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
