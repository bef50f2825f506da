"""Helpers for the onboarding tests: copies of the vendored schemas as a user's project holds them,
a private embedded server, and the walkthrough's answers put where the draft says TODO."""

from __future__ import annotations

import difflib
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


OWN_STUB = Path(__file__).with_name("own_supabase_stub.sql")


def project(tmp_path: Path, target: str, *, platform_stub: bool = False) -> Path:
    """``tmp_path/<target>/supabase/migrations`` holding the target's migrations, as a user's
    repository holds them: basejump's own four files only, unless ``platform_stub`` (then also a
    hand-written Supabase stub, as a project that keeps its own has one)."""
    folder = tmp_path / target / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for path in sorted((TARGETS / target / "migrations").glob("*.sql")):
        if platform_stub or "platform_stub" not in path.name:
            shutil.copy(path, folder / path.name)
    if platform_stub and target == "basejump":
        shutil.copy(OWN_STUB, folder / "00000000000000_supabase_platform_stub.sql")
    return folder


def answer(spec: Path, answers: Path = WALKTHROUGH / "answers.yaml") -> int:
    """Writes each answer where the draft says TODO (an empty answer deletes the entry: the adapter
    implements it), then the ``add_after`` blocks after the line they name; returns the lines
    the user wrote (added or changed, blank lines not counted)."""
    draft = text = spec.read_text()
    sections = yaml.safe_load(answers.read_text())
    additions = sections.pop("add_after", None) or {}
    for section in sections.values():
        for name, reason in section.items():
            if isinstance(reason, dict):   # write_paths: {table: {COMMAND: reason}}
                head = re.search(rf"^\s+{re.escape(name)}:\n", text, flags=re.MULTILINE)
                assert head is not None, f"the draft has no entry {name}"
                before, after = text[:head.end()], text[head.end():]
                for command, why in reason.items():
                    after, count = re.subn(rf'^(\s+){command}: "TODO[^"]*"', rf"\g<1>{command}: {why}",
                                           after, count=1, flags=re.MULTILINE)
                    assert count == 1, f"the draft has no TODO for {name}.{command}"
                text = before + after
                continue
            line = rf'^(\s+){re.escape(name)}: "TODO[^"]*"\n'
            text, count = re.subn(line, lambda m, n=name, r=reason: "" if r is None else
                                  f"{m.group(1)}{n}: {r}\n", text, flags=re.MULTILINE)
            assert count == 1, f"the draft has no TODO for {name}"
    for anchor, block in additions.items():
        at = re.search(rf"^{re.escape(anchor)}.*\n", text, flags=re.MULTILINE)
        assert at is not None, f"the draft has no line starting {anchor!r}"
        text = text[:at.end()] + block + text[at.end():]
    spec.write_text(text)
    return lines_written(draft, text)


def lines_written(before: str, after: str) -> int:
    """Lines added or changed from ``before`` to ``after`` (blank lines not counted)."""
    return sum(1 for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
               if line.startswith("+") and not line.startswith("+++") and line[1:].strip())


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
