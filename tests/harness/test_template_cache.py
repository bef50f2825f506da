"""The migrated template is cached across runs by a hash of migrations and spec, and rebuilt."""

from __future__ import annotations

import shutil
import stat
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from harness.lifecycle import Run
from harness.migrations import current_heads, script_heads
from harness.target import load_target
from harness.template_cache import SERVER_BUILD_LOCK, kept_template, template_key

from .conftest import ROOT, run_pytest


def _copy_target(tmp_path: Path) -> Path:
    """target.yaml with its own copy of the reference migrations, so a test may edit them."""
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "reference_impl" / "migrations", migrations,
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "target.yaml").read_text()
    spec = tmp_path / "target.yaml"
    spec.write_text(text.replace("script_location: reference_impl/migrations",
                                 f"script_location: {migrations}"))
    assert str(migrations) in spec.read_text(), "target.yaml changed shape; update this test"
    return spec


def _touch_migration(spec_path: Path) -> None:
    first = sorted((spec_path.parent / "migrations" / "versions").glob("*.py"))[0]
    first.write_text(first.read_text() + "\n# an edit\n")


def test_the_key_follows_migration_files_and_the_spec(tmp_path):
    """Same inputs, same key; any edit of a migration file or of a spec field the build reads,
    another key; an edit the build never reads (a comment, the adapter), the same key."""
    spec_path = _copy_target(tmp_path)
    key = template_key(load_target(spec_path, backend="embedded"), "pg")
    assert template_key(load_target(spec_path, backend="embedded"), "pg") == key
    assert template_key(load_target(spec_path, backend="embedded"), "pg-other-build") != key
    _touch_migration(spec_path)
    edited = template_key(load_target(spec_path, backend="embedded"), "pg")
    assert edited != key
    text = spec_path.read_text()
    spec_path.write_text(text + "\n# a comment\n")
    assert template_key(load_target(spec_path, backend="embedded"), "pg") == edited
    spec_path.write_text(text.replace("adapter: reference_impl.adapter:ReferenceAdapter",
                                      "adapter: reference_impl.variants.api_adapters:DepartedMemberTokenAdapter"))
    assert template_key(load_target(spec_path, backend="embedded"), "pg") == edited
    spec_path.write_text(text.replace("app_role: app_user", "app_role: app_user2"))
    assert template_key(load_target(spec_path, backend="embedded"), "pg") != edited


@pytest.mark.parametrize("field_value", [
    ("app_role", "someone_else"), ("tenant_setting", "app.tenant"),
    ("requires_extensions", ("vector",)), ("database", "docker"),
    ("migrations", "version_locations"),
])
def test_every_field_the_build_reads_is_in_the_key(tmp_path, field_value):
    """The build reads these (the app role it creates, the settings env.py is given, the
    extensions checked, where the server comes from, the migration folders): a change of any one
    gives another key."""
    spec = load_target(_copy_target(tmp_path), backend="embedded")
    name, value = field_value
    if name == "database":
        changed = replace(spec, database=replace(spec.database, backend=value))
    elif name == "migrations":
        extra = tmp_path / "more"
        extra.mkdir()
        changed = replace(spec, migrations=replace(spec.migrations, version_locations=(extra,)))
    else:
        changed = replace(spec, **{name: value})
    assert template_key(changed, "pg") != template_key(spec, "pg")


def test_a_known_bad_variant_with_its_own_adapter_shares_the_references_template():
    """A variant that changes only its adapter migrates nothing of its own: one template for
    both (before, each variant's spec file gave it a key of its own, and a migration per run)."""
    reference = load_target(ROOT / "target.yaml", backend="embedded")
    variant = load_target(ROOT / "reference_impl" / "variants" / "api-departed-member-token" / "target.yaml",
                          backend="embedded")
    assert variant.adapter != reference.adapter
    assert template_key(variant, "pg") == template_key(reference, "pg")


def test_a_project_module_a_migration_imports_is_in_the_key(tmp_path, monkeypatch):
    """A migration importing a helper of the project builds what the helper says: an edit of
    the helper (found at any depth, through a relative import too) gives another key."""
    spec_path = _copy_target(tmp_path)
    package = f"tplhelpers_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "project" / package
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "policies.py").write_text("from .naming import prefix\n")
    (root / "naming.py").write_text("prefix = 'p_'\n")
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    first = sorted((spec_path.parent / "migrations" / "versions").glob("*.py"))[0]
    first.write_text(first.read_text() + f"\n\ndef _helper():\n    from {package}.policies import prefix\n")
    key = template_key(load_target(spec_path, backend="embedded"), "pg")
    (root / "naming.py").write_text("prefix = 'q_'\n")
    assert template_key(load_target(spec_path, backend="embedded"), "pg") != key


def _start(spec_path: Path, run_id: str, *, fresh: bool = False) -> tuple[Run, str]:
    run = Run(load_target(spec_path, backend="embedded"), run_id, fresh=fresh, pool_size=1)
    run.acquire()
    return run, run.template_source


@pytest.mark.slow
def test_a_warm_run_starts_without_migrating_and_edits_rebuild(tmp_path, monkeypatch, new_run_id):
    """Cold: built; warm: from the cache, at head, with this run's own passwords; an edited
    migration or fresh=True: built again. The cache is private (0700)."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    spec_path = _copy_target(tmp_path)
    first, source = _start(spec_path, new_run_id())
    try:
        assert source == "built"
        old_admin = first.server.admin
        old_app = first.database(first.template()).app
    finally:
        first.release()
    warm, source = _start(spec_path, new_run_id())
    try:
        assert source == "cache"
        with warm.fresh_database("warm") as db:
            assert current_heads(db.owner) == script_heads(warm.spec)
            with db.connect_app() as conn:
                assert conn.execute("select current_user").fetchone()[0] == warm.spec.app_role
            # the passwords of the run that built the cache open nothing here (sent themselves:
            # that run's password file went with its server)
            for stale in (old_admin, old_app):
                assert stale.password
                with pytest.raises(psycopg.OperationalError, match="password"):
                    psycopg.connect(replace(stale, host=db.owner.host, port=db.owner.port,
                                            dbname=db.name, passfile=None).conninfo(), connect_timeout=5)
    finally:
        warm.release()
    for path in [tmp_path / "cache", *(tmp_path / "cache").rglob("*")]:
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is open to others"
    _touch_migration(spec_path)
    edited, source = _start(spec_path, new_run_id())
    edited.release()
    assert source == "built"
    again, source = _start(spec_path, new_run_id(), fresh=True)
    again.release()
    assert source == "built"


SOURCE_TEST = '''
def test_source(harness_run, fresh_database):
    print("TEMPLATE-SOURCE", harness_run.template_source)
'''


@pytest.mark.slow
def test_harness_fresh_flag_and_ini_rebuild_the_cached_template(pytester_dir, tmp_path):
    """--harness-fresh (or ini harness_fresh) rebuilds a kept cache; harness_fresh=false reuses
    it (a plain warm run's reuse: test_a_warm_run_starts_without_migrating_and_edits_rebuild)."""
    (pytester_dir / "test_source.py").write_text(SOURCE_TEST)
    env = {"HARNESS_CACHE_DIR": str(tmp_path / "cache")}

    def source(*args: str) -> str:
        out = run_pytest(pytester_dir, "-q", "-s", "test_source.py", *args, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        print(out.stdout[-600:])
        return out.stdout.split("TEMPLATE-SOURCE ")[1].split()[0]

    assert source() == "built"
    assert source("--harness-fresh") == "built"
    assert source("-o", "harness_fresh=true") == "built"
    assert source("-o", "harness_fresh=false") == "cache"


def test_builds_of_different_templates_on_one_dsn_server_take_turns(harness_run):
    """Migrations may create roles, which belong to the whole server: a build waits while another
    key's build holds the server's build lock, then builds, and the next run finds it kept."""
    admin = harness_run.server.admin
    key = uuid.uuid4().hex
    name = f"harness_tpl_{key[:16]}"
    outcome: list[tuple[str, str]] = []
    with psycopg.connect(admin.conninfo(), autocommit=True) as other_build:
        other_build.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (SERVER_BUILD_LOCK,))
        builder = threading.Thread(target=lambda: outcome.append(
            kept_template(harness_run.spec, admin, key, fresh=False)))
        builder.start()
        try:
            for _ in range(3000):            # up to 30 s on a busy machine
                waiting = other_build.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted").fetchone()[0]
                if waiting:
                    break
                time.sleep(0.01)
            assert waiting == 1, "the build did not wait for the server's build lock"
            assert other_build.execute("select count(*) from pg_database where datname = %s",
                                       (name,)).fetchone()[0] == 0
        finally:
            other_build.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (SERVER_BUILD_LOCK,))
            builder.join(timeout=120)
        try:
            assert outcome == [(name, "built")]
            assert kept_template(harness_run.spec, admin, key, fresh=False) == (name, "cache")
        finally:
            other_build.execute(sql.SQL("drop database if exists {} (force)").format(sql.Identifier(name)))
