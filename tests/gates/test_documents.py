"""Document checks: the risk register and the migrations' rollback notes, read from a target
repository; a broken document fails its item with every problem listed, and never raises."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.gates.documents import CHECKS, DocumentContext, run_check
from tests.gates.conftest import MIGRATION, REPO, TODAY, write


def _context(root: Path, today: dt.date = TODAY) -> DocumentContext:
    return DocumentContext(root=root, script_location=root / "migrations", today=today)


def test_registry_names_the_checks():
    assert set(CHECKS) == {"risk-register", "migration-rollback-notes"}


def test_good_risk_register_passes(target_root):
    result = run_check("risk-register", _context(target_root), "risks.yaml")
    assert (result.status, result.problems, result.checked) == ("passed", (), ("risks.yaml",))


def test_open_risk_past_due_fails_on_the_day_after(target_root):
    due = dt.date(2027, 1, 31)
    assert run_check("risk-register", _context(target_root, due), "risks.yaml").status == "passed"
    late = run_check("risk-register", _context(target_root, due + dt.timedelta(days=1)), "risks.yaml")
    assert late.status == "failed"
    assert late.problems == ("line 2: risks[0] (R-01): is open and past due (due 2027-01-31)",)


@pytest.mark.parametrize(("text", "problem"), [
    ("risks:\n  - {id: R-1, title: t, due: 2027-01-01, status: open}\n", "(R-1): has no owner"),
    ("risks:\n  - {id: R-1, title: t, owner: o, due: soon, status: open}\n", "'soon' is not an ISO date"),
    ("risks:\n  - {id: R-1, title: t, owner: o, due: 2027-01-01, status: pending}\n", "status 'pending' is not one of"),
    ("risks:\n  - {id: R-1, title: t, owner: o, due: 2027-01-01, status: open}\n"
     "  - {id: R-1, title: u, owner: o, due: 2027-01-01, status: open}\n", "id R-1 is listed twice"),
    ("risks: []\n", "lists no risks"),
    ("- just a list\n", "must be a mapping with a 'risks' list"),
    ("risks:\n  - [not, a, mapping]\n", "line 2: risks[0]: must be a mapping"),
    ("risks: [unclosed\n", "not valid YAML"),
])
def test_bad_risk_register_fails_with_the_problem(tmp_path, text, problem):
    write(tmp_path / "risks.yaml", text)
    result = run_check("risk-register", _context(tmp_path), "risks.yaml")
    assert result.status == "failed"
    assert any(problem in p for p in result.problems), result.problems


def test_missing_risk_register_is_missing(tmp_path):
    assert run_check("risk-register", _context(tmp_path), "risks.yaml").status == "missing"


def test_migrations_with_rollback_notes_pass(target_root):
    result = run_check("migration-rollback-notes", _context(target_root), None)
    assert result.status == "passed"
    assert result.checked == ("migrations/versions/0001_table.py",)


def test_reference_migrations_have_rollback_notes():
    """The reference target's own migrations meet S00.migration-rollback-notes."""
    context = DocumentContext(REPO, REPO / "reference_impl" / "migrations", TODAY)
    result = run_check("migration-rollback-notes", context, None)
    assert result.status == "passed", result.problems
    assert len(result.checked) >= 1


@pytest.mark.parametrize(("body", "problem"), [
    (MIGRATION.replace("Rollback: drops the table and its rows.", "Adds t."),
     "has no 'Rollback' note"),
    (MIGRATION.replace('    op.execute("DROP TABLE t")', "    pass"), "downgrade() has no real body"),
    (MIGRATION.replace('    op.execute("DROP TABLE t")', '    """Rollback: impossible."""\n    ...'),
     "downgrade() has no real body"),
    (MIGRATION.replace('    op.execute("DROP TABLE t")', "    raise NotImplementedError()"),
     "downgrade() has no real body"),
    (MIGRATION.split("def downgrade")[0], "has no downgrade()"),
    ("revision = '0002'\ndef broken(:\n", "cannot be parsed"),
])
def test_migration_without_a_real_rollback_fails(target_root, body, problem):
    write(target_root / "migrations" / "versions" / "0002_next.py", body)
    result = run_check("migration-rollback-notes", _context(target_root), None)
    assert result.status == "failed"
    assert any(p.startswith("migrations/versions/0002_next.py: ") and problem in p
               for p in result.problems), result.problems


def test_rollback_note_in_downgrade_docstring_is_enough(target_root):
    body = MIGRATION.replace("Rollback: drops the table and its rows.", "Adds t.").replace(
        '    op.execute("DROP TABLE t")', '    """Rollback drops t."""\n    op.execute("DROP TABLE t")')
    write(target_root / "migrations" / "versions" / "0001_table.py", body)
    assert run_check("migration-rollback-notes", _context(target_root), None).status == "passed"


def test_helper_modules_without_revision_are_not_migrations(target_root):
    write(target_root / "migrations" / "versions" / "shared.py", "def helper():\n    pass\n")
    result = run_check("migration-rollback-notes", _context(target_root), None)
    assert result.status == "passed" and len(result.checked) == 1


def test_no_migrations_is_missing(tmp_path):
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    assert run_check("migration-rollback-notes", _context(tmp_path), None).status == "missing"
