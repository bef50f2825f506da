"""The target spec: every kind of bad file gets one clear line naming file, field and fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.secrets import ConnParams, redact
from harness.target import load_target

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "target.yaml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(text.replace("script_location: reference_impl/migrations",
                                 f"script_location: {ROOT / 'reference_impl/migrations'}"))
    return path


def test_reference_spec_loads_into_typed_objects(monkeypatch):
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    spec = load_target(ROOT / "target.yaml")
    assert spec.name == "reference"
    assert spec.database.backend == "embedded"
    assert spec.app_role == "app_user"
    assert spec.tenancy.global_tables["users"]
    with pytest.raises(AttributeError):
        spec.name = "other"  # frozen


@pytest.mark.parametrize(
    ("edit", "field", "says"),
    [
        (("backend: embedded", "backend: oracle"), "database.backend", "not one of embedded, system, docker, dsn"),
        (("  script_location: reference_impl/migrations\n", ""), "migrations.script_location", "is missing"),
        (("script_location: reference_impl/migrations", "script_location: nowhere/at/all"),
         "migrations.script_location", "has no env.py"),
        (("reference_impl.adapter:ReferenceAdapter", "reference_impl.nope:Adapter"), "adapter",
         "does not import"),
        (("reference_impl.adapter:ReferenceAdapter", "reference_impl.adapter:Missing"), "adapter",
         "has no 'Missing'"),
        (("name: reference", "name: ${HARNESS_TEST_UNSET_VAR}"), "name", "${HARNESS_TEST_UNSET_VAR} is not set"),
        (("app_role: app_user", "app_role: 'drop table'"), "app_role", "not a plain role name"),
        (("name: reference", "name: reference\ncolour: blue"), "colour", "is not a known field"),
        (("workspace_id = %(tenant)s\n       order by created_at desc",
          "workspace_id = 'x'\n       order by created_at desc"),
         "standards.hot_queries.newest work items page", "names no %(tenant)s"),
        (("every member is a known person: >-", "every member is a known person: 42\n    unused: >-"),
         "standards.seed_invariants.every member is a known person", "must be text"),
    ],
)
def test_bad_spec_names_file_field_and_fix(tmp_path, monkeypatch, edit, field, says):
    monkeypatch.delenv("HARNESS_TEST_UNSET_VAR", raising=False)
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_target(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {field}: ") or message.startswith(f"{path}: {field}")
    assert says in message
    assert "fix:" in message


def test_a_spec_read_without_imports_finds_a_broken_adapter_when_it_is_used(tmp_path, monkeypatch):
    """The plugin reads the spec without importing the adapter (about a second per process);
    the adapter that does not import still gives its one line, where it is first used, and a
    fresh interpreter reading the reference spec that way imports no web framework."""
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    path = write(tmp_path, GOOD.replace("reference_impl.adapter:ReferenceAdapter", "reference_impl.nope:Adapter"))
    spec = load_target(path, check_imports=False)
    with pytest.raises(ConfigError, match="adapter: module 'reference_impl.nope' does not import"):
        spec.load_adapter_class()
    probe = ("import sys; from harness.target import load_target; "
             f"load_target({str(ROOT / 'target.yaml')!r}, check_imports=False); "
             "print(sorted(m for m in ('fastapi', 'reference_impl.adapter') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "HARNESS_BACKEND"})
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, GOOD + "\ndatabase: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+: not valid YAML"):
        load_target(path)


def test_dsn_backend_without_dsn_says_how(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_DSN", raising=False)
    path = write(tmp_path, GOOD.replace("backend: embedded", "backend: dsn"))
    with pytest.raises(ConfigError, match="database.dsn: backend 'dsn' needs a DSN"):
        load_target(path)


def test_dsn_password_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DSN", "postgresql://alice:hunter2-secret@db.internal:5433/prod")
    path = write(tmp_path, GOOD.replace("backend: embedded", "backend: dsn\n  dsn: ${HARNESS_DSN}"))
    spec = load_target(path)
    assert spec.database.dsn.password == "hunter2-secret"
    for shown in (repr(spec), str(spec), repr(spec.database), spec.database.dsn.safe()):
        assert "hunter2-secret" not in shown
    assert spec.database.dsn.safe() == "alice@db.internal:5433/prod"
    assert "hunter2" not in redact("connect postgresql://alice:hunter2@h/db failed")
    assert "hunter2" not in redact("host=h password=hunter2 user=a")


def test_invalid_dsn_error_does_not_echo_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DSN", "postgresql://bob:pa55word@[bad")
    path = write(tmp_path, GOOD.replace("backend: embedded", "backend: dsn\n  dsn: ${HARNESS_DSN}"))
    with pytest.raises(ConfigError) as err:
        load_target(path)
    assert "pa55word" not in str(err.value)


def test_backend_override_from_environment(monkeypatch):
    monkeypatch.setenv("HARNESS_BACKEND", "docker")
    monkeypatch.setenv("HARNESS_DOCKER_IMAGE", "local/pg:test")
    spec = load_target(ROOT / "target.yaml")
    assert spec.database.backend == "docker"
    assert spec.database.image == "local/pg:test"


def test_conn_params_repr_hides_password():
    params = ConnParams(host="127.0.0.1", port=5432, user="u", dbname="d", password="topsecret")
    assert "topsecret" not in repr(params)
    assert "topsecret" in params.conninfo()  # only the driver sees it


def test_cli_bad_spec_is_one_line_exit_2(tmp_path):
    path = write(tmp_path, GOOD.replace("backend: embedded", "backend: oracle"))
    out = subprocess.run([sys.executable, "-m", "harness", "doctor", "--target", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "database.backend" in lines[0] and "fix:" in lines[0]


def test_doctor_reports_each_backend():
    out = subprocess.run([sys.executable, "-m", "harness", "doctor", "--target", str(ROOT / "target.yaml")],
                         capture_output=True, text=True, env={**os.environ, "HARNESS_BACKEND": ""})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.split()[:2] == ["ok", "embedded"] for line in lines), out.stdout
    rows = [line.split() for line in lines if line.split()[:1] in (["ok"], ["no"])]
    assert {row[1] for row in rows} == {"embedded", "system", "docker", "dsn"}
    # each working backend lists the extensions it can create (embedded: pgvector's "vector")
    embedded = lines.index(next(line for line in lines if line.split()[:2] == ["ok", "embedded"]))
    assert lines[embedded + 1].split()[0] == "extensions:" and "vector" in lines[embedded + 1]
    assert any(line.startswith("left behind by") for line in lines), out.stdout
