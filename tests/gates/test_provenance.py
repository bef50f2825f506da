"""One provenance collector (issue 7, section 2): the plugin's record and the packet's view come
from the same module, with one package list and one git helper, and keep the hypothesis seed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from harness import migrations, provenance
from harness.gates.redaction import Redactor
from harness.target import load_target
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


def _fresh_python(code: str, cache: Path) -> str:
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_alembic_heads_are_kept_by_content_and_a_new_revision_changes_them(tmp_path, monkeypatch):
    """The kept answer is Alembic's own, a warm run asks it without importing Alembic, and a
    revision added to the folder is seen at once (the key is the folder's content)."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "migrations"
    shutil.copytree(REPO / "reference_impl" / "migrations", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    spec = load_target(REPO / "target.yaml", check_imports=False)
    spec = replace(spec, migrations=replace(spec.migrations, script_location=folder))
    assert provenance.migration_heads(spec) == migrations.script_heads(spec) == ("0008_events",)
    assert len(list((tmp_path / "cache" / "heads").glob("*.json"))) == 1

    ask = (f"import sys; from dataclasses import replace; from pathlib import Path; "
           f"from harness import provenance; "
           f"from harness.target import load_target; "
           f"s = load_target('target.yaml', check_imports=False); "
           f"s = replace(s, migrations=replace(s.migrations, script_location=Path({str(folder)!r}))); "
           f"print(provenance.migration_heads(s), 'alembic' in sys.modules)")
    assert _fresh_python(ask, tmp_path / "cache") == "('0008_events',) False"

    (folder / "versions" / "0009_more.py").write_text(
        'revision = "0009_more"\ndown_revision = "0008_events"\n\n\n'
        "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    assert provenance.migration_heads(spec) == ("0009_more",)
    assert _fresh_python(ask, tmp_path / "cache") == "('0009_more',) False"
