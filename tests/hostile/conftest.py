"""The hostile probes: each test replays an attack an adversarial or careless user tried, and
passes only when the harness refuses it the way the developers' guide says (one line naming the
file, the field and the fix, exit 2, nothing replaced; or exit 1 for a packet that lies).

The gate tests' fixtures (a small catalog, result files, a target repository) are shared."""

from __future__ import annotations

import pytest

from tests.gates.conftest import catalog, catalog_file, results, target_root  # noqa: F401


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):  # noqa: F811
    """A working directory holding the small catalog as gates.yaml, no backend override."""
    monkeypatch.chdir(tmp_path)
    for name in ("HARNESS_BACKEND", "HARNESS_LOAD_PROFILE", "HARNESS_RECOVERY_PROFILE",
                 "HARNESS_COUNTERS_PROFILE", "HARNESS_REHEARSAL_PROFILE", "HARNESS_REHEARSAL_PROFILES",
                 "HARNESS_REPLAY_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def one_line_error(capsys) -> str:
    """The CLI's error: one line, no traceback."""
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err
