"""The rehearsal's snapshot comparison judges whatever the catalog answered and never crashes:
NULL or non-text lines, sections that are not lists, missing or duplicated sections and lines
out of order all get a verdict (equal, or a difference a reviewer reads)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core.judging import DEFECT_TITLE
from harness.rehearsal.snapshot import Snapshot, difference

lines = st.one_of(st.text(max_size=6), st.none(), st.integers(), st.binary(max_size=3),
                  st.tuples(st.integers()))
sections = st.dictionaries(st.one_of(st.sampled_from(["tables", "grants", "column_grants", "storage"]),
                                     st.integers(0, 2)),
                           st.one_of(st.lists(lines, max_size=4), st.tuples(lines, lines), lines), max_size=4)


@settings(max_examples=200, deadline=None)
@given(a=sections, b=sections)
def test_any_two_snapshots_get_a_verdict_never_an_exception(a, b):
    shown = difference(Snapshot(a, {}, {}), Snapshot(b, {}, {}))
    assert shown is None or isinstance(shown, str) and shown


@settings(max_examples=100, deadline=None)
@given(a=sections, data=st.data())
def test_lines_out_of_order_or_a_snapshot_compared_with_itself_is_equal(a, data):
    shuffled = {name: data.draw(st.permutations(list(v))) if isinstance(v, (list, tuple)) else v
                for name, v in a.items()}
    assert difference(Snapshot(a, {}, {}), Snapshot(shuffled, {}, {})) is None


def test_an_unreadable_line_is_a_difference_shown_raw():
    before = Snapshot({"grants": ("t app_user SELECT",)}, {}, {})
    after = Snapshot({"grants": ("t app_user SELECT", None)}, {}, {})
    shown = difference(before, after)
    assert shown is not None and "<unreadable: None>" in shown


def test_a_duplicated_line_is_a_difference():
    before = Snapshot({"grants": ("t app_user SELECT",)}, {}, {})
    after = Snapshot({"grants": ("t app_user SELECT", "t app_user SELECT")}, {}, {})
    assert "+t app_user SELECT" in (difference(before, after) or "")


def test_a_checker_defect_is_its_own_section_and_still_a_difference():
    broken = Snapshot(["grants"], {}, {})  # type: ignore[arg-type]  (sections not a mapping)
    shown = difference(Snapshot({"grants": ()}, {}, {}), broken)
    assert shown is not None and DEFECT_TITLE in shown and '"grants"' in shown
