"""A connection string the harness builds for its own server carries no password.

The generated passwords of the run's server (the admin and the app role) go to a password file
in the run's private directory (mode 0600), and every conninfo names that file instead
(:mod:`harness.passfile`): a traceback, log line or report that shows one shows no secret. The
plugin's redaction of failure reports (``test_traceback_redaction.py``) is the second line.
"""

from __future__ import annotations

import stat

import psycopg
import pytest

from harness.lifecycle import Run
from harness.passfile import FILE_NAME
from harness.target import load_target
from tests.bite import ROOT

pytestmark = pytest.mark.slow


def _secrets(run: Run) -> list[str]:
    record = run._read()
    assert record is not None
    return [record["app_password"], record["server"]["admin"]["password"]]


def test_the_dsns_of_an_own_server_carry_no_password_and_still_connect(new_run_id):
    run = Run(load_target(ROOT / "target.yaml", backend="embedded"), new_run_id(), pool_size=0)
    state = run.acquire()
    try:
        secrets = _secrets(run)
        assert all(secrets)                               # the server has passwords to keep
        with run.fresh_database("passfile") as db:
            dsns = {"admin": state.admin.conninfo(), "owner": db.owner.conninfo(),
                    "app": db.app.conninfo(), "url": db.owner.sqlalchemy_url().render_as_string(False)}
            for name, dsn in dsns.items():
                assert not [s for s in secrets if s in dsn], f"{name} DSN carries a password"
                assert "password" not in dsn.lower(), name
                assert "passfile" in dsn, name
            env = db.owner.libpq_env()
            assert "PGPASSWORD" not in env and env["PGPASSFILE"] == state.admin.passfile
            with db.connect_owner() as conn, db.connect_app() as app:
                assert conn.execute("select current_user").fetchone()[0] == db.owner.user
                assert app.execute("select current_user").fetchone()[0] == db.app.user
        path = run.dir / FILE_NAME
        assert str(path) == state.admin.passfile
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # (the run directory itself may be opened for traversal: as root the embedded server
        # runs as another system user, who must reach its data directory inside it)
        # the same parameters without the file would carry it: the probe above can fail
        assert secrets[1] in state.admin.as_user(state.admin.user, secrets[1]).conninfo()
    finally:
        run.release()
    assert not (run.dir / FILE_NAME).exists()             # removed with the server
    with pytest.raises(psycopg.OperationalError):         # and the server is gone with it
        psycopg.connect(state.admin.conninfo(), connect_timeout=3).close()
