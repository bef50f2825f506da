"""Running the target's Alembic migrations against one database.

Alembic is driven through its command API with the script location from the target spec (plus
any extra version directories it names, e.g. a known-bad variant stacked on the reference). The
URL is handed over in memory (never written to an ini file), the app role name is passed both
as ``config.attributes["app_role"]`` and as ``-x app_role=...`` so that a target's ``env.py``
can grant to it, and every step is timed for the evidence.
"""

from __future__ import annotations

import os
import time
from argparse import Namespace
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["MigrationStep", "alembic_config", "current_heads", "downgrade", "script_heads", "upgrade"]


@dataclass(frozen=True)
class MigrationStep:
    direction: str
    target: str
    seconds: float


def alembic_config(spec: TargetSpec, params: ConnParams) -> Config:
    cfg = _script_config(spec)
    # '%' must be doubled for ConfigParser; the URL only lives in this in-memory object
    url = params.sqlalchemy_url().render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["app_role"] = spec.app_role
    cfg.attributes["tenant_setting"] = spec.tenant_setting
    return cfg


def upgrade(spec: TargetSpec, params: ConnParams, revision: str = "heads") -> MigrationStep:
    started = time.perf_counter()
    command.upgrade(alembic_config(spec, params), revision)
    return MigrationStep("upgrade", revision, time.perf_counter() - started)


def downgrade(spec: TargetSpec, params: ConnParams, revision: str) -> MigrationStep:
    started = time.perf_counter()
    command.downgrade(alembic_config(spec, params), revision)
    return MigrationStep("downgrade", revision, time.perf_counter() - started)


def script_heads(spec: TargetSpec) -> tuple[str, ...]:
    script = ScriptDirectory.from_config(_script_config(spec))
    return tuple(sorted(script.get_heads()))


def _script_config(spec: TargetSpec) -> Config:
    """Where the revisions are: the script location, plus any extra version directories."""
    cfg = Config(cmd_opts=Namespace(x=[f"app_role={spec.app_role}"]))
    location = spec.migrations.script_location
    cfg.set_main_option("script_location", str(location))
    if spec.migrations.version_locations:
        # naming version_locations replaces the default <script_location>/versions, so keep it;
        # the target spec refuses paths that contain os.pathsep
        dirs = (location / "versions", *spec.migrations.version_locations)
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join(str(d) for d in dirs))
    return cfg


def current_heads(params: ConnParams) -> tuple[str, ...]:
    engine = create_engine(params.sqlalchemy_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()
