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


def test_a_column_grant_and_a_storage_parameter_are_in_the_snapshot(owner_conn, harness_target):
    """On a real catalog: granting one column and setting a storage parameter (the TOAST
    table's too) each change the snapshot, in their own section, and resetting restores it."""
    from harness.rehearsal.snapshot import take_snapshot

    owner_conn.execute("create table planted_notes (id int primary key, body text)")
    before = take_snapshot(owner_conn)
    owner_conn.execute(f"grant update (body) on planted_notes to {harness_target.app_role}")
    owner_conn.execute("alter table planted_notes set (fillfactor = 70, toast.autovacuum_enabled = false)")
    after = take_snapshot(owner_conn)
    shown = difference(before, after) or ""
    assert f"+planted_notes.body {harness_target.app_role} UPDATE" in shown, shown
    assert "options=fillfactor=70 toast=autovacuum_enabled=false" in shown, shown
    owner_conn.execute(f"revoke update (body) on planted_notes from {harness_target.app_role}")
    owner_conn.execute("alter table planted_notes reset (fillfactor, toast.autovacuum_enabled)")
    assert difference(before, take_snapshot(owner_conn)) is None
