"""The equivalence rules of the mutation tool (benchmarks/mutation/scope.py), on small sources of
their own: each rule marks the mutant it describes and leaves a look-alike that can change
behaviour to be run."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "mutation"))

from operators import mutants_of  # noqa: E402
from scope import equivalence  # noqa: E402

MIGRATION = "reference_impl/migrations/versions/0009_runs.py"
TABLE = '''def upgrade():
    op.execute("""
        CREATE TABLE runs (
            workspace_id uuid NOT NULL,
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
            PRIMARY KEY (workspace_id)
        )""")
'''
ADAPTER = '''def start(conn, workspace):
    conn.execute("insert into runs (workspace_id) values (%s)", (workspace,))
    conn.execute("update runs set attempts = attempts + 1 where workspace_id = %s", (workspace,))
    status, max_attempts = conn.execute("select attempts, max_attempts from runs").fetchone()
'''
READS = '''class Adapter:
    def plans(self, workspace):
        with self.db.connect_app() as conn, bound_workspace(conn, self.setting, workspace):
            last = conn.execute("select created_at from items limit 1").fetchone()
            plan = conn.execute("explain select * from items where created_at > %s", last)
        return plan

    def grant(self, workspace):
        with self.db.connect_app() as conn, bound_workspace(conn, self.setting, workspace):
            conn.execute("select 1 from items")
            conn.execute("insert into items (workspace_id) values (%s)", (workspace,))
        return None

    def handed(self, workspace):
        with self.db.connect_app() as conn, bound_workspace(conn, self.setting, workspace):
            first = conn.execute("select 1 from items").fetchone()
            record(conn, first)
            conn.execute("select 2 from items")
        return None
'''


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _reasons(root: Path, path: str, family: str = "replay") -> dict[str, str | None]:
    text = (root / path).read_text(encoding="utf-8")
    return {f"{m.operator} {m.original!r}->{m.replacement!r} @{text.count(chr(10), 0, m.start) + 1}":
            equivalence(root, m, family) for m in mutants_of(path, text)}


def test_a_check_on_a_column_only_its_default_fills_is_equivalent(tmp_path):
    root = _tree(tmp_path, {MIGRATION: TABLE, "reference_impl/runs.py": ADAPTER})
    reasons = _reasons(root, MIGRATION)
    marked = {k for k, why in reasons.items() if why and "inside CHECK on max_attempts" in why}
    assert marked == {"relational '>='->'>' @6", "constant '1'->'2' @6"}, reasons
    # attempts is written (SET attempts = ...): its CHECK's mutants run
    assert not any(why for k, why in reasons.items() if k.endswith("@5")), reasons
    # the DEFAULT itself changed is what every row holds: never equivalent
    assert reasons["constant '3'->'1' @6"] is None


def test_the_default_rule_yields_to_a_write_and_to_families_that_write_every_column(tmp_path):
    written = ADAPTER + '    conn.execute("insert into runs (workspace_id, max_attempts) values (%s, 1)")\n'
    root = _tree(tmp_path, {MIGRATION: TABLE, "reference_impl/runs.py": written})
    assert not any(why and "max_attempts" in why for why in _reasons(root, MIGRATION).values())
    root = _tree(tmp_path, {"reference_impl/runs.py": ADAPTER,
                            "scenarios/replay/test_x.py": "start(max_attempts=1)\n"})
    assert not any(why and "max_attempts" in why for why in _reasons(root, MIGRATION).values())
    root = _tree(tmp_path, {"scenarios/replay/test_x.py": "\n"})
    assert not any(why and "max_attempts" in why
                   for why in _reasons(root, MIGRATION, "tenant_isolation").values())


def test_only_a_split_that_reads_and_keeps_its_connection_is_equivalent(tmp_path):
    root = _tree(tmp_path, {"reference_impl/plans.py": READS})
    text = READS
    verdicts = {}
    for m in mutants_of("reference_impl/plans.py", text, ("split-transaction",)):
        function = text[text.rfind("def ", 0, m.start):m.start].split("(")[0][4:]
        verdicts[function] = equivalence(root, m, "api")
    assert set(verdicts) == {"plans", "grant", "handed"}, verdicts
    assert verdicts["plans"] and "only reads" in verdicts["plans"]
    assert verdicts["grant"] is None and verdicts["handed"] is None


def _attempts_default(root: Path) -> str | None:
    """The reason given for attempts' ``DEFAULT 0`` made 1 (not the CHECK's 0 on that line)."""
    text = (root / MIGRATION).read_text(encoding="utf-8")
    (m,) = [m for m in mutants_of(MIGRATION, text, ("constant",))
            if text[:m.start].endswith(" attempts integer NOT NULL DEFAULT ")]
    return equivalence(root, m, "replay")


def test_a_column_default_every_insert_overrides_is_equivalent(tmp_path):
    root = _tree(tmp_path, {MIGRATION: TABLE, "reference_impl/runs.py": ADAPTER})
    assert _attempts_default(root) is None          # the INSERT omits attempts: the default is read
    named = ADAPTER.replace("insert into runs (workspace_id)", "insert into runs (workspace_id, attempts)")
    root = _tree(tmp_path, {"reference_impl/runs.py": named})
    assert "DEFAULT of runs.attempts" in (_attempts_default(root) or "")
    root = _tree(tmp_path, {"scenarios/replay/test_y.py":
                            'conn.execute("insert into runs default values")\n'})
    assert _attempts_default(root) is None
