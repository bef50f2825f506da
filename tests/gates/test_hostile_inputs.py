"""Regression tests for the hostile pass over the CLI (issue 7, section 3): every bad input gets
one line naming the file and the field, exit code 2, no traceback and never a password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.cli import main
from tests.gates.conftest import REPO, SECRET, write
from tests.gates.test_assemble import fill

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):
    monkeypatch.chdir(tmp_path)
    for name in ("HARNESS_BACKEND", "HARNESS_DSN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env={**ENV, **env},
                          capture_output=True, text=True, timeout=120)


def _spec(folder: Path, text: str) -> Path:
    return write(folder / "target.yaml", text)


# -- defect 2: DSN parse errors ---------------------------------------------------------------
@pytest.mark.parametrize("dsn", [
    f"postgresql://owner:{SECRET}@[::1:5432/app",           # unclosed IPv6 bracket
    f"postgresql://owner:{SECRET}@db:notaport/app",
    f"host=db password={SECRET} port=abc",
    f"host=db password='{SECRET}",                          # unterminated quote
])
def test_a_malformed_dsn_is_one_masked_line_exit_2(target_root, dsn):
    spec = (target_root / "target.yaml").read_text()
    from_env = _spec(target_root / "env", spec.replace("backend: dsn", "backend: embedded").replace(
        f"  dsn: postgresql://owner:{SECRET}@db.example.internal:5432/app\n", ""))
    from_spec = _spec(target_root / "spec", spec.replace(
        f"postgresql://owner:{SECRET}@db.example.internal:5432/app", "${HARNESS_DSN}"))
    for sub in ("env", "spec"):
        (target_root / sub / "migrations").symlink_to(target_root / "migrations")
    env_run = _cli(["doctor", "--target", str(from_env)], target_root, HARNESS_DSN=dsn, HARNESS_BACKEND="dsn")
    spec_run = _cli(["doctor", "--target", str(from_spec)], target_root, HARNESS_DSN=dsn)
    for run in (env_run, spec_run):
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
        assert "is not a valid PostgreSQL DSN" in run.stderr
        assert SECRET not in run.stderr + run.stdout
    assert env_run.stderr.startswith("harness: error: HARNESS_DSN"), env_run.stderr
    assert "database.dsn" in spec_run.stderr


def test_an_unexpected_error_message_never_echoes_a_dsn_password():
    from harness.secrets import redact

    for text in (f"postgresql://u:{SECRET}@h/db", f"postgres://u:p@ss{SECRET}@h:5/db",
                 f"connect(password={SECRET} host=h)", f"POSTGRESQL+psycopg://u:{SECRET}@h/d"):
        assert SECRET not in redact(text), text


# -- defect 3: symlinks in the results directory -----------------------------------------------
def test_an_attachment_that_is_a_symlink_is_refused(workdir, results, capsys):
    fill(results)
    secret = workdir / "shadow"
    secret.write_text("root:$6$hash")
    result = results.add("t_link", evidence=("S03.cross-tenant-negatives",),
                         attachments=(("log", "text/plain", b"x"),))
    source = json.loads(result.read_text())["attachments"][0]["source"]
    (results.directory / source).unlink()
    (results.directory / source).symlink_to(secret)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure"]) == 2
    assert "is a symbolic link" in _one_line(capsys)
    assert not (workdir / "reports/packets/S03").exists()


# -- defect 5: sys.exit() on import ------------------------------------------------------------
def test_an_adapter_calling_sys_exit_0_on_import_never_exits_0(workdir, target_root):
    write(target_root / "quitting_adapter.py", "import sys\nsys.exit(0)\n")
    spec = (target_root / "target.yaml").read_text() + "adapter: quitting_adapter:Adapter\n"
    _spec(target_root, spec)
    done = _cli(["gate", "S03", "--target", str(target_root / "target.yaml"), "--no-allure"], workdir)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "adapter: module 'quitting_adapter' does not import (SystemExit" in done.stderr
    assert not (workdir / "reports/packets/S03").exists()


# -- defect 7: tracebacks with exit 1 ----------------------------------------------------------
@pytest.mark.parametrize("which", ["target", "catalog", "waivers"])
def test_non_utf8_yaml_is_one_line(workdir, results, target_root, capsys, which):
    fill(results)
    bad = b"name: caf\xe9\n"
    paths = {"target": target_root / "target.yaml", "catalog": workdir / "gates.yaml",
             "waivers": workdir / "w.yaml"}
    paths[which].write_bytes(bad)
    argv = ["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure",
            "--target", str(paths["target"])]
    if which == "waivers":
        argv += ["--waivers", str(paths["waivers"])]
    assert main(argv) == 2
    assert "is not UTF-8 text" in _one_line(capsys)


@pytest.mark.parametrize("which", ["target", "catalog", "waivers"])
def test_an_impossible_date_in_any_yaml_is_one_line(workdir, results, target_root, capsys, which):
    fill(results)
    if which == "target":
        _spec(target_root, (target_root / "target.yaml").read_text() + "tenancy: {global_tables: {users: 2027-02-30}}\n")
    elif which == "catalog":
        (workdir / "gates.yaml").write_text((workdir / "gates.yaml").read_text().replace(
            "version: 1", "version: 1\nreviewed: 2027-02-30"))
    else:
        write(workdir / "waivers.yaml", "- {item: S03.audit-trail, reason: r, approver: a, expires: 2027-02-30}\n")
    argv = ["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure",
            "--target", str(target_root / "target.yaml")]
    assert main(argv) == 2
    assert "'2027-02-30' is not a real date" in _one_line(capsys)


def test_an_impossible_date_in_the_risk_register_fails_the_document_item(workdir, results, target_root):
    """The risk register is evidence of the target: a broken one fails its item, naming the line."""
    fill(results)
    write(target_root / "risks.yaml", "risks:\n  - {id: R-1, title: t, owner: o, due: 2027-02-30, status: open}\n")
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure",
                 "--target", str(target_root / "target.yaml")]) == 1
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    risk = next(i for i in data["items"] if i["id"] == "S03.risk-register")
    assert risk["status"] == "failed" and "line 2" in risk["reason"] and "2027-02-30" in risk["reason"]


@pytest.mark.parametrize("out", ["/proc/harness-cannot-write-here", "a-file"])
def test_an_unwritable_out_is_refused_before_any_suite_runs(workdir, target_root, capsys, out):
    (workdir / "a-file").write_text("not a folder")
    marker = workdir / "suite-ran"
    write(target_root / "scenarios" / "test_s.py", f"""\
        import pathlib
        def test_runs():
            pathlib.Path({str(marker)!r}).write_text("ran")
        """)
    assert main(["gate", "S03", "--target", str(target_root / "target.yaml"), "--out", out]) == 2
    assert "--out" in _one_line(capsys)
    assert not marker.exists()


def test_a_full_out_is_refused(workdir, results, capsys, monkeypatch):
    from harness.gates import packets_folder

    fill(results)
    free = __import__("shutil").disk_usage(workdir).free
    monkeypatch.setattr(packets_folder, "MIN_FREE_BYTES", free * 2)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure"]) == 2
    assert "KiB free, less than a packet needs" in _one_line(capsys)


def test_results_that_is_a_file_is_one_line(workdir, target_root, capsys):
    (workdir / "results-file").write_text("x")
    assert main(["packet", "build", "--results", "results-file", "--gate", "S03"]) == 2
    assert "results-file: is a file, not a results directory" in _one_line(capsys)
    assert main(["gate", "S03", "--target", str(target_root / "target.yaml"), "--results", "results-file"]) == 2
    assert "results-file: --results: is a file" in _one_line(capsys)


def test_json_nested_100000_deep_is_one_line(workdir, results, capsys):
    fill(results)
    (results.directory / "deep-result.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure"]) == 2
    assert "deep-result.json: nested too deeply" in _one_line(capsys)


# -- defect 9 ----------------------------------------------------------------------------------
def test_a_missing_app_role_is_an_error_naming_the_field(target_root):
    from harness.errors import ConfigError
    from harness.target import load_target

    _spec(target_root, (target_root / "target.yaml").read_text().replace("app_role: app_user\n", ""))
    with pytest.raises(ConfigError) as err:
        load_target(target_root / "target.yaml")
    assert err.value.field == "app_role" and "is missing" in str(err.value)


BOMB = textwrap.dedent("""\
    a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
    """)


@pytest.mark.parametrize("which", ["target", "catalog"])
def test_a_yaml_alias_bomb_is_refused(workdir, target_root, capsys, which):
    if which == "target":
        _spec(target_root, (target_root / "target.yaml").read_text() + "tenancy:\n  global_tables:\n"
              + textwrap.indent(BOMB, "    "))
        argv = ["doctor", "--target", str(target_root / "target.yaml")]
    else:
        (workdir / "gates.yaml").write_text(BOMB)
        argv = ["gates"]
    assert main(argv) == 2
    assert "an alias bomb" in _one_line(capsys)


def test_yaml_anchors_of_ordinary_size_still_work(tmp_path):
    from harness.yamlfiles import load_text

    assert load_text("base: &b {x: 1}\nother: *b\n", "f.yaml") == {"base": {"x": 1}, "other": {"x": 1}}


def test_harness_backend_bogus_names_the_environment_variable(target_root, monkeypatch):
    from harness.errors import ConfigError
    from harness.target import load_target

    monkeypatch.setenv("HARNESS_BACKEND", "bogus")
    with pytest.raises(ConfigError) as err:
        load_target(target_root / "target.yaml")
    assert str(err.value).startswith("HARNESS_BACKEND (environment variable): 'bogus' is not one of")
    assert "target.yaml" not in str(err.value)
