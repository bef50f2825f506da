"""A misconfigured data environment fails early with one line naming the setting.

Each case builds the misconfiguration for real (a closed port, a role or extension the server
does not have, a database behind the chain's head, a missing variable) and runs the harness's
preflight against a real server.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from harness.errors import ConfigError
from harness.migrations import tool_for, upgrade
from harness.standards.preflight import preflight
from harness.target import load_target

STORY = "F1-E2-S2"
PASSWORD = "s3cret-Pa55word"


def _one_line(problems: list[ConfigError], setting: str) -> str:
    assert len(problems) == 1, [p.one_line() for p in problems]
    line = problems[0].one_line()
    assert "\n" not in line and setting in line and PASSWORD not in line, line
    return line


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
def test_an_unreachable_dsn_names_the_dsn_setting_and_hides_the_password(harness_target, monkeypatch):
    """A DSN to a port where nothing listens: one line naming database.dsn, password masked."""
    monkeypatch.setenv("HARNESS_DSN", f"postgresql://app:{PASSWORD}@127.0.0.1:{_closed_port()}/db")
    spec = load_target(harness_target.path, backend="dsn")
    _one_line(preflight(spec, spec.database.dsn), "database.dsn")


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
def test_a_missing_dsn_variable_names_the_setting(harness_target, monkeypatch):
    """The dsn backend without HARNESS_DSN: the spec does not load, naming database.dsn."""
    monkeypatch.delenv("HARNESS_DSN", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_target(harness_target.path, backend="dsn")
    assert "database.dsn" in caught.value.one_line() and "HARNESS_DSN" in caught.value.one_line()


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
@pytest.mark.parametrize("role", ["no_such_role", "superuser"])
def test_a_wrong_app_role_names_app_role(fresh_database, harness_target, role):
    """An app role the server lacks, or one that is a superuser: one line naming app_role."""
    name = fresh_database.owner.user if role == "superuser" else role
    line = _one_line(preflight(replace(harness_target, app_role=name), fresh_database.owner), "app_role")
    assert ("does not exist" in line) if role == "no_such_role" else ("superuser" in line)


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
def test_a_missing_extension_names_the_extension_setting(fresh_database, harness_target):
    """An extension the target uses but the server does not have: named under standards.extensions."""
    standards = replace(harness_target.standards,
                        extensions={**harness_target.standards.extensions, "no_such_ext": "probe"})
    _one_line(preflight(replace(harness_target, standards=standards), fresh_database.owner),
              "standards.extensions.no_such_ext")


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
def test_a_database_behind_head_names_the_migrations(harness_run, harness_target):
    """A database migrated only to the first revision: one line naming migrations and both revisions."""
    db = harness_run.create_empty("behind")
    try:
        first = tool_for(harness_target).revisions()[0].id
        upgrade(harness_target, db.owner, first)
        line = _one_line(preflight(harness_target, db.owner), "migrations")
        assert first in line
    finally:
        harness_run.drop(db)


@pytest.mark.evidence("S01.misconfigured-env-diagnostics", story=STORY)
def test_a_well_configured_environment_passes_preflight(fresh_database, harness_target):
    """The twin: the migrated clone with the spec's own role and extensions has no problem."""
    assert [p.one_line() for p in preflight(harness_target, fresh_database.owner)] == []
