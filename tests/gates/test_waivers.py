"""Waivers: validated against the catalog on load; expired ones do nothing; a waiver of a
non-waivable item is rejected and never waives it."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.errors import ConfigError
from harness.gates.waivers import Waiver, assess, load_waivers
from tests.gates.conftest import TODAY, write

GOOD = """\
- item: S03.audit-trail
  reason: audit table lands next sprint
  approver: Release lead
  expires: 2026-12-31
  ticket: REL-1
- item: S03.cross-tenant-negatives
  reason: please
  approver: Someone
  expires: "2026-12-31"
"""


def test_loads_waivers_with_dates(tmp_path, catalog):
    waivers = load_waivers(write(tmp_path / "waivers.yaml", GOOD), catalog)
    assert [w.item for w in waivers] == ["S03.audit-trail", "S03.cross-tenant-negatives"]
    assert waivers[0].expires == dt.date(2026, 12, 31) and waivers[0].ticket == "REL-1"
    assert waivers[1].expires == dt.date(2026, 12, 31) and waivers[1].line == 6


@pytest.mark.parametrize("text", ["", "[]\n", "# nothing waived\n"])
def test_empty_waivers_file_means_no_waivers(tmp_path, catalog, text):
    assert load_waivers(write(tmp_path / "waivers.yaml", text), catalog) == ()


def test_repository_waivers_file_loads(repo_catalog):
    from tests.gates.conftest import REPO

    assert load_waivers(REPO / "waivers.yaml", repo_catalog) == ()


@pytest.mark.parametrize(("text", "message"), [
    ("item: S03.audit-trail\n", r"waivers.yaml: line 1: must be a list of waivers"),
    ("- item: S03.typo\n  reason: r\n  approver: a\n  expires: 2026-12-31\n",
     r"line 1: waivers\[0\].item: 'S03.typo' is not an evidence item in gates.yaml"),
    ("- item: S03.audit-trail\n  approver: a\n  expires: 2026-12-31\n",
     r"waivers\[0\].reason: is missing"),
    ("- item: S03.audit-trail\n  reason: r\n  approver: a\n  expires: next week\n",
     r"line 4: waivers\[0\].expires: 'next week' is not a date"),
    ("- item: S03.audit-trail\n  reason: r\n  approver: a\n  expires: 2026-12-31\n  signed: yes\n",
     r"line 5: waivers\[0\].signed: is not a known field"),
    ("- [S03.audit-trail]\n", r"line 1: waivers\[0\]: must be a mapping"),
    ("- item: S03.audit-trail\n  reason: [unclosed\n", r"line \d+: not valid YAML"),
])
def test_malformed_waivers_give_a_clear_error(tmp_path, catalog, text, message):
    with pytest.raises(ConfigError, match=message):
        load_waivers(write(tmp_path / "waivers.yaml", text), catalog)


def _waiver(item: str, expires: dt.date, approver: str = "lead") -> Waiver:
    return Waiver(item=item, reason="r", approver=approver, expires=expires)


def test_waiver_holds_through_its_expiry_day(catalog):
    item = catalog.item("S03.audit-trail")
    on_the_day = assess(item, (_waiver(item.id, TODAY),), TODAY, met=False)
    assert [s.state for s in on_the_day] == ["applied"]
    day_after = assess(item, (_waiver(item.id, TODAY - dt.timedelta(days=1)),), TODAY, met=False)
    assert [s.state for s in day_after] == ["expired"]


def test_waiver_of_non_waivable_item_is_rejected(catalog):
    item = catalog.item("S03.cross-tenant-negatives")
    states = assess(item, (_waiver(item.id, TODAY + dt.timedelta(days=30)),), TODAY, met=False)
    assert [s.state for s in states] == ["rejected"]
    assert "not waivable" in states[0].note


def test_longest_running_waiver_applies_and_others_are_superseded(catalog):
    item = catalog.item("S03.audit-trail")
    waivers = (_waiver(item.id, TODAY + dt.timedelta(days=3), "a"),
               _waiver(item.id, TODAY + dt.timedelta(days=9), "b"),
               _waiver(item.id, TODAY - dt.timedelta(days=1), "c"),
               _waiver("S03.query-latency", TODAY, "d"))
    states = assess(item, waivers, TODAY, met=False)
    assert [(s.waiver.approver, s.state) for s in states] == [
        ("a", "superseded"), ("b", "applied"), ("c", "expired")]


def test_waiver_of_a_met_item_is_not_needed(catalog):
    item = catalog.item("S03.audit-trail")
    assert [s.state for s in assess(item, (_waiver(item.id, TODAY),), TODAY, met=True)] == ["not-needed"]
