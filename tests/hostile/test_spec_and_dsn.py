"""Items 5 and 7 of the second hostile pass: a spec that cannot work, and a DSN cut short.

``api.asgi: 42``, ``[1, 2]``, ``no_such_pkg.api:app`` and ``api.base_url: "not a url"`` passed
validation and ``harness doctor``; ``sslmode``, ``sslrootcert`` and friends in ``HARNESS_DSN``
were dropped (only host, port, user, dbname and password kept), so the admin connection went
unencrypted and ``harness doctor`` said "ok" against a server psycopg alone would refuse."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.secrets import ConnParams, redact
from harness.target import load_target
from tests.gates.conftest import SECRET, write
from tests.hostile.conftest import one_line_error

SPEC = """\
name: api-probe
database: {{backend: embedded}}
migrations: {{script_location: migrations}}
app_role: app_user
api: {api}
"""


@pytest.mark.parametrize(("api", "fld", "problem"), [
    ("{asgi: 42}", "api.asgi", "not an ASGI app reference"),
    ("{asgi: [1, 2]}", "api.asgi", "not an ASGI app reference"),
    ("{asgi: 'no_such_pkg.api:app'}", "api.asgi", "does not import"),
    ("{asgi: 'reference_impl/api.py:app'}", "api.asgi", "not an ASGI app reference"),
    ("{asgi: 'json:__name__'}", "api.asgi", "not callable"),
    ("{asgi: 'json:no_such_attr'}", "api.asgi", "has no 'no_such_attr'"),
    ("{base_url: 'not a url'}", "api.base_url", "not an http(s) URL"),
    ("{base_url: 'ftp://example.com'}", "api.base_url", "not an http(s) URL"),
    ("{base_url: 'http://host:99999'}", "api.base_url", "is not a URL"),
    ("{base_url: 8000}", "api.base_url", "must be a URL"),
])
def test_an_api_section_that_cannot_work_is_refused(tmp_path, monkeypatch, capsys, api, fld, problem):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    write(tmp_path / "migrations" / "env.py", "# alembic env\n")
    spec = write(tmp_path / "target.yaml", SPEC.format(api=api))
    with pytest.raises(ConfigError) as caught:
        load_target(spec)
    assert f"{fld}: " in str(caught.value) and problem in str(caught.value), str(caught.value)
    assert main(["doctor", "--target", str(spec)]) == 2      # doctor says so too, in one line
    assert fld in one_line_error(capsys)


def test_a_working_api_section_is_accepted(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    write(tmp_path / "migrations" / "env.py", "# alembic env\n")
    for api in ("{asgi: 'reference_impl.api:app'}", "{base_url: 'https://api.example.com:8443/v1'}"):
        spec = load_target(write(tmp_path / "target.yaml", SPEC.format(api=api)))
        assert spec.api.asgi or spec.api.base_url


def test_every_libpq_parameter_of_the_dsn_is_kept_and_never_printed():
    dsn = (f"postgresql://owner:{SECRET}@db.example:5433/app?sslmode=verify-full&sslrootcert=/ca.pem"
           f"&sslcert=/c.pem&sslkey=/k.pem&sslpassword={SECRET}&target_session_attrs=read-write"
           "&application_name=gate")
    params = ConnParams.from_dsn(dsn)
    kept = psycopg.conninfo.conninfo_to_dict(params.as_user("app_user", "x").with_db("clone").conninfo())
    assert {k: kept[k] for k in ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword",
                                 "target_session_attrs", "application_name")} == {
        "sslmode": "verify-full", "sslrootcert": "/ca.pem", "sslcert": "/c.pem", "sslkey": "/k.pem",
        "sslpassword": SECRET, "target_session_attrs": "read-write", "application_name": "gate"}
    assert (kept["user"], kept["dbname"]) == ("app_user", "clone")
    assert params.libpq_env()["PGSSLMODE"] == "verify-full"
    assert params.libpq_env()["PGSSLROOTCERT"] == "/ca.pem"
    url = params.sqlalchemy_url()
    assert url.query["sslmode"] == "verify-full" and url.host == "db.example"
    for shown in (repr(params), params.safe(), redact(str(url)), redact(params.conninfo())):
        assert SECRET not in shown, shown


@pytest.mark.slow
def test_doctor_refuses_a_server_that_the_dsn_s_sslmode_refuses(tmp_path, monkeypatch, capsys):
    """A real server without TLS and a DSN demanding it: psycopg alone refuses, so must doctor."""
    from harness.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend()
    with tempfile.TemporaryDirectory(prefix="harness-hostile-dsn-") as folder:
        state = backend.start(Path(folder))
        try:
            admin = state.admin
            dsn = (f"postgresql://{admin.user}:{admin.password}@{admin.host}:{admin.port}/postgres"
                   "?sslmode=require")
            with psycopg.connect(admin.conninfo()):
                pass                                           # the server is up ...
            with pytest.raises(psycopg.OperationalError, match="SSL"):
                psycopg.connect(dsn, connect_timeout=5)        # ... and refuses this DSN
            write(tmp_path / "migrations" / "env.py", "# alembic env\n")
            spec = write(tmp_path / "target.yaml", SPEC.format(api="{}").replace(
                "backend: embedded", "backend: dsn"))
            monkeypatch.setenv("HARNESS_DSN", dsn)
            monkeypatch.delenv("HARNESS_BACKEND", raising=False)
            capsys.readouterr()
            assert main(["doctor", "--target", str(spec)]) == 1
            out = capsys.readouterr().out
            line = next(row for row in out.splitlines() if " dsn " in row)
            assert line.strip().startswith("no") and "SSL" in line, out
            assert admin.password not in out
        finally:
            backend.stop(state)
