"""Helpers for the onboarding tests: copies of the vendored schemas as a user's project holds them,
a private embedded server, and the walkthrough's answers put where the draft says TODO."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import yaml

from harness import roles
from harness.backends import ServerState, get_backend
from harness.target import load_target

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "fixtures" / "targets"
WALKTHROUGH = TARGETS / "basejump" / "walkthrough"


def project(tmp_path: Path, target: str, *, platform_stub: bool = False) -> Path:
    """``tmp_path/<target>/supabase/migrations`` holding the target's migrations, as a user's
    repository holds them: basejump's own four files only, unless ``platform_stub``."""
    folder = tmp_path / target / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for path in sorted((TARGETS / target / "migrations").glob("*.sql")):
        if platform_stub or "platform_stub" not in path.name:
            shutil.copy(path, folder / path.name)
    return folder


def answer(spec: Path, answers: Path = WALKTHROUGH / "answers.yaml") -> int:
    """Writes each answer where the draft says TODO; returns the lines written."""
    text = spec.read_text()
    written = 0
    for section in yaml.safe_load(answers.read_text()).values():
        for name, reason in section.items():
            text, count = re.subn(rf'^(\s+){re.escape(name)}: "TODO[^"]*"',
                                  lambda m, n=name, r=reason: f"{m.group(1)}{n}: {r}", text,
                                  flags=re.MULTILINE)
            assert count == 1, f"the draft has no TODO for {name}"
            written += 1
    spec.write_text(text)
    return written


@contextmanager
def embedded_server(spec_path: Path) -> Iterator[ServerState]:
    """A private embedded server with the spec's app role, stopped (files removed) on exit."""
    spec = load_target(spec_path, backend="embedded")
    backend = get_backend(spec)
    # not under pytest's tmp_path: another pytest session of the same user resets the mode of
    # /tmp/pytest-of-<user> to 0700, and the server's own system user must traverse to its data
    with tempfile.TemporaryDirectory(prefix="harness-onboarding-") as workdir:
        state = backend.start(Path(workdir) / "server")
        try:
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                roles.ensure_role(admin, spec.app_role, secrets.token_urlsafe(16))
            yield state
        finally:
            backend.stop(state)
