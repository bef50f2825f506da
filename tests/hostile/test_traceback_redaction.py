"""A failing test's traceback never shows a password.

pytest's long tracebacks print the arguments of the frame that raised: a driver's
``connect(conninfo)`` failing put the harness server's password into the test output (seen in a
bite run's nested pytest). The plugin redacts every failure report it makes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_a_failed_connect_does_not_print_its_password(tmp_path):
    (tmp_path / "test_connect.py").write_text(textwrap.dedent("""\
        import psycopg

        def test_connect():
            psycopg.connect("user=x password=SuperSecret-4711 host=127.0.0.1 port=1 dbname=x",
                            connect_timeout=1)
        """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                          "--tb=long", str(tmp_path / "test_connect.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "OperationalError" in output, output
    assert "SuperSecret-4711" not in output
    assert "password=***" in output
