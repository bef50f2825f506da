"""The system backend: Debian's PostgreSQL packages (postgresql-15 here, installed by .ci/run),
found through pg_config / PATH. It carries pgcrypto and uuid-ossp, which the embedded wheel does
not, so a spec that requires them is refused on embedded with one line naming the backend that
has them, and runs on system. Every test here says which backend it uses."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from harness.backends import require_extensions
from harness.backends.embedded import EmbeddedBackend
from harness.backends.system import SystemBackend
from harness.errors import ConfigError
from harness.target import load_target

pytestmark = pytest.mark.slow

SPEC = """name: needs-contrib
database: {backend: embedded}
migrations: {tool: sql, location: migrations}
app_role: app_user
requires_extensions: [pgcrypto, uuid-ossp]
"""


@pytest.fixture
def contrib_target(tmp_path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20240101000000_contrib.sql").write_text(
        "-- One-way: extensions stay.\ncreate extension if not exists pgcrypto;\n"
        'create extension if not exists "uuid-ossp";\n')
    (tmp_path / "target.yaml").write_text(SPEC)
    return tmp_path / "target.yaml"


def test_the_embedded_backend_lacks_pgcrypto_and_the_spec_is_refused_naming_system(contrib_target):
    """Backend: embedded (checked offline, no server started)."""
    assert "pgcrypto" not in EmbeddedBackend().extensions()
    spec = load_target(contrib_target)  # reading a spec needs no backend; using one checks
    with pytest.raises(ConfigError) as caught:
        require_extensions(spec)
    line = caught.value.one_line()
    assert "requires_extensions" in line and "embedded has no pgcrypto, uuid-ossp" in line
    assert "use backend system" in line


def test_the_refusal_is_one_line_and_exit_2_from_the_command_line(contrib_target):
    """Backend: embedded, through `harness doctor`-free `harness gate` startup: before any suite."""
    done = subprocess.run([sys.executable, "-m", "harness", "gate", "S00", "--target",
                           str(contrib_target), "--no-allure"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len([ln for ln in done.stderr.splitlines() if "requires_extensions" in ln]) == 1


def test_the_system_backend_starts_and_creates_pgcrypto_and_uuid_ossp(contrib_target, tmp_path):
    """Backend: system (the postgres under pg_config --bindir)."""
    backend = SystemBackend()
    assert {"pgcrypto", "uuid-ossp"} <= set(backend.extensions())
    spec = load_target(contrib_target, backend="system")
    assert spec.database.backend == "system"
    state = backend.start(tmp_path / "server")
    try:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as conn:
            version = conn.execute("show server_version_num").fetchone()[0]
            conn.execute("create extension pgcrypto")
            conn.execute('create extension "uuid-ossp"')
            assert len(conn.execute("select gen_random_bytes(8)").fetchone()[0]) == 8
            assert conn.execute("select uuid_generate_v4()").fetchone()[0] is not None
        assert state.backend == "system" and int(version) < 180000   # not the embedded 18
    finally:
        backend.stop(state)
    assert not (tmp_path / "server").exists()
