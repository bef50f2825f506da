"""Fast checks of the rehearsal's pure parts: profiles, down-step statements, row comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.rehearsal.checksums import changed_rows, checksum
from harness.rehearsal.history import real_statements
from harness.rehearsal.profile import load_config
from harness.rehearsal.snapshot import Snapshot

PROFILES = Path(__file__).resolve().parents[2] / "fixtures" / "rehearsal" / "profiles.yaml"


def test_the_shipped_profiles_load_with_a_lock_budget_and_release_window():
    ci = load_config(PROFILES, "ci")
    ga = load_config(PROFILES, "ga")
    assert ci.profile.lock_budget_s == 2.0 and ga.profile.rows >= 100_000
    assert "require-concurrent-index-creation" in ci.lock_rules and ci.payload


def test_a_profile_without_a_field_names_the_file_and_field(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("profiles: {ci: {rows: 10}}\n")
    with pytest.raises(ConfigError, match="profiles.ci.tenants"):
        load_config(bad, "ci")


def test_an_exception_without_a_reason_is_refused(tmp_path):
    text = PROFILES.read_text().replace("  allowed: []\n", "  allowed:\n    - {revision: '0001', rule: x}\n")
    assert text != PROFILES.read_text()
    bad = tmp_path / "p.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"squawk.allowed\[0\]"):
        load_config(bad)


def test_a_down_step_of_only_bookkeeping_has_no_real_statement():
    only_bookkeeping = ("BEGIN;\n\n-- Running downgrade 0004 -> 0003\n\n"
                        "UPDATE alembic_version SET version_num='0003';\n\nCOMMIT;\n")
    assert real_statements(only_bookkeeping, ("alembic_version",)) == []
    assert real_statements("BEGIN;\nDROP TABLE t;\nCOMMIT;\n", ("alembic_version",)) == ["DROP TABLE t"]


def test_changed_rows_names_the_row_and_column_and_ignores_columns_not_compared():
    before = {"t": {"[1]": {"id": 1, "a": "x", "b": 1}}}
    after = {"t": {"[1]": {"id": 1, "a": "", "b": 2}}}
    lost = changed_rows(before, after, {"t": {"[1]"}}, {"t": ("id", "a")})
    assert len(lost) == 1 and "a 'x' -> ''" in lost[0].text() and " b " not in lost[0].text()
    assert changed_rows(before, after, {"t": {"[1]"}}, {"t": ("id",)}) == []
    assert checksum(before["t"]) != checksum(after["t"])


def test_a_snapshot_diff_shows_the_section_and_the_line():
    a = Snapshot({"indexes": ("CREATE INDEX i ON t (a)",)}, {}, {})
    b = Snapshot({"indexes": ()}, {}, {})
    assert a != b and "-CREATE INDEX i ON t (a)" in a.diff(b) and "[indexes]" in a.diff(b)
