"""The catalog: the repository's gates.yaml covers S00-S11 as the seeds say, and a malformed
catalog fails on load with an error naming the line, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.gates.catalog import STORY_ID, load_catalog
from tests.gates.conftest import SMALL_CATALOG, write

# story scopes from ../shared/seeds (union of the data and backend lanes)
SEED_STORIES = {
    "S01": {"F1-E1-S2", "F1-E1-S3", "F1-E2-S1", "F1-E2-S2"},
    "S02": {"F1-E3-S1", "F1-E3-S2", "F2-E1-S1", "F2-E1-S2", "F2-E1-S3"},
    "S03": {"F2-E2-S1", "F2-E2-S2", "F2-E2-S3", "F2-E3-S1", "F2-E3-S2", "F2-E3-S3"},
    "S04": {"F3-E1-S1", "F3-E1-S2", "F3-E1-S3", "F3-E2-S2", "F3-E2-S3"},
    "S11": {"F8-E2-S1", "F8-E2-S2", "F8-E2-S3", "F8-E3-S1", "F8-E3-S2", "F8-E3-S3"},
}

# the ids the scenario suites use (contract with the foundation): kind, waivable, stories
CONTRACT = {
    "S02.unauthorized-access-negatives": ("test", False, ("F2-E1-S1", "F2-E1-S3")),
    "S03.cross-tenant-negatives": ("test", False, ("F2-E3-S1", "F2-E3-S2")),
    "S03.policy-coverage": ("test", False, ("F2-E3-S1",)),
    "S03.role-matrix": ("test", False, ("F2-E2-S1", "F2-E2-S2", "F2-E2-S3")),
    "S03.membership-audit": ("test", False, ("F2-E2-S3", "F2-E3-S3")),
    "S00.migration-rollback-notes": ("document", True, ()),
    "S00.risk-register": ("document", True, ()),
}


def test_repository_catalog_covers_the_twelve_gates(repo_catalog):
    """Every sprint gate of the seeds is in the catalog, in order, each with evidence items."""
    assert [g.id for g in repo_catalog.gates] == [f"S{n:02d}" for n in range(12)]
    names = [g.name for g in repo_catalog.gates]
    assert names[3] == "Tenant isolation gate" and names[11] == "GA launch gate"
    for gate in repo_catalog.gates:
        assert gate.items, gate.id
        assert all(item.gate == gate.id for item in gate.items)
        assert all(STORY_ID.match(s) for s in gate.stories)


def test_repository_catalog_uses_the_seed_story_scopes(repo_catalog):
    for gate_id, stories in SEED_STORIES.items():
        assert set(repo_catalog.gate(gate_id).stories) == stories
    assert repo_catalog.gate("S00").stories == ()


def test_repository_catalog_keeps_the_ids_the_suites_use(repo_catalog):
    for item_id, (kind, waivable, stories) in CONTRACT.items():
        item = repo_catalog.item(item_id)
        assert item is not None, item_id
        assert (item.kind, item.waivable, item.stories) == (kind, waivable, stories), item_id


def test_tenant_isolation_and_security_items_are_not_waivable(repo_catalog):
    """Items about tenant leaks, RLS, authz negatives, signatures or credentials cannot be waived."""
    pattern = re.compile(r"tenant|rls|negatives|policy|signature|credential|security|role-matrix|audit")
    for gate in repo_catalog.gates:
        for item in gate.items:
            if pattern.search(item.id.split(".", 1)[1]) and item.kind == "test":
                assert not item.waivable, item.id


def test_every_document_item_names_a_known_check(repo_catalog):
    kinds = {i.kind for g in repo_catalog.gates for i in g.items}
    assert kinds == {"test", "slo", "document"}
    for gate in repo_catalog.gates:
        for item in gate.items:
            if item.kind == "document":
                assert item.check in ("risk-register", "migration-rollback-notes")


def test_small_catalog_loads_with_defaults(catalog):
    item = catalog.gate("S03").item("S03.query-latency")
    assert item.min_tests == 1 and item.waivable is True
    assert item.thresholds[0].metric == "p95_ms" and item.thresholds[0].value == 200.0
    assert catalog.gate("S03").item("S03.audit-trail").min_tests == 2
    assert catalog.item("S04.domain-invariants").gate == "S04"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SMALL_CATALOG
    return write(tmp_path / "broken.yaml", SMALL_CATALOG.replace(old, new, 1))


def _line_of(text: str, needle: str) -> int:
    """The line where ``needle`` (possibly several lines) starts."""
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("        kind: slo", "        kind: benchmark", "kind: benchmark", "not a known kind"),
    ("        stories: [F2-E3-S2]", "        stories: [F2-E3]", "stories: [F2-E3]", "not a story id"),
    ("        stories: [F2-E3-S2]", "        stories: [F9-E9-S9]", "F9-E9-S9", "not one of gate S03's stories"),
    ("      - id: S04.domain-invariants", "      - id: S03.domain-invariants", "S03.domain-invariants",
     "is listed under gate S04"),
    ("      - id: S03.audit-trail", "      - id: S03.Audit_Trail", "S03.Audit_Trail", "not an evidence item id"),
    ("        min_tests: 2", "        min_tests: 0", "min_tests: 0", "at least 1"),
    ("        waivable: false", "        waivable: sometimes", "waivable: sometimes", "true or false"),
    ("        check: risk-register", "        check: vibes", "check: vibes", "not a known document check"),
    ("        proves: Every change is audited.", "        proof: Every change is audited.", "proof:",
     "not a known field"),
    ("  - id: S04\n", "  - id: S03\n", "  - id: S03\n    name: Core", "gate S03 is listed twice"),
])
def test_malformed_catalog_names_the_line(tmp_path, old, new, needle, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    text = str(caught.value)
    assert message in text
    assert str(path) in text and "fix:" in text
    if needle is not None:
        expected = _line_of(path.read_text(), needle)
        assert f"line {expected}:" in text


def test_duplicate_item_id_names_both_lines(tmp_path):
    path = _broken(tmp_path, "      - id: S03.audit-trail", "      - id: S03.cross-tenant-negatives")
    text = path.read_text()
    first = _line_of(text, "S03.cross-tenant-negatives")
    second = _line_of(text, "S03.cross-tenant-negatives\n        kind: test\n        min_tests")
    with pytest.raises(ConfigError, match=rf"line {second}: .* is listed twice \(first on line {first}\)"):
        load_catalog(path)


def test_missing_proves_is_named(tmp_path):
    path = _broken(tmp_path, "        proves: Invalid rows are rejected.\n", "")
    with pytest.raises(ConfigError, match=r"S04 item S04.domain-invariants.proves: is missing"):
        load_catalog(path)


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path / "gates.yaml", "gates:\n  - id: S00\n    name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"gates.yaml: line \d+: not valid YAML"):
        load_catalog(path)


def test_duplicate_key_is_an_error(tmp_path):
    path = _broken(tmp_path, "        kind: slo\n", "        kind: slo\n        kind: test\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'kind'"):
        load_catalog(path)


def test_missing_catalog_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"file not found \(fix: pass --catalog FILE"):
        load_catalog(tmp_path / "nowhere.yaml")


def test_thresholds_only_on_slo_items(tmp_path):
    path = _broken(tmp_path, "        kind: slo", "        kind: test")
    with pytest.raises(ConfigError, match=r"only slo items take thresholds"):
        load_catalog(path)


def test_unknown_gate_lists_the_known_ones(catalog):
    with pytest.raises(ConfigError, match=r"no gate 'S99' in the catalog \(fix: use one of S03, S04\)"):
        catalog.gate("S99")
