"""The Alembic migration tool.

Alembic is driven through its command API with the script location from the target spec (plus
any extra version directories it names, e.g. a known-bad variant stacked on the reference). The
URL is handed over in memory (never written to an ini file), the app role name is passed both
as ``config.attributes["app_role"]`` and as ``-x app_role=...`` so that a target's ``env.py``
can grant to it. A revision whose ``downgrade()`` raises ``NotImplementedError`` or whose
docstring says ``One-way:`` is a one-way door.
"""

from __future__ import annotations

import io
import os
import re
from argparse import Namespace
from contextlib import redirect_stdout
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from harness.migrations import HEAD, Revision, register
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["AlembicTool", "alembic_config", "alembic_current"]

_ONE_WAY = re.compile(r"^\s*One-way:", re.MULTILINE)


def alembic_config(spec: TargetSpec, params: ConnParams | None = None) -> Config:
    cfg = _script_config(spec)
    if params is not None:
        # '%' must be doubled for ConfigParser; the URL only lives in this in-memory object
        url = params.sqlalchemy_url().render_as_string(hide_password=False).replace("%", "%%")
        cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["app_role"] = spec.app_role
    cfg.attributes["tenant_setting"] = spec.tenant_setting
    return cfg


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


def alembic_current(params: ConnParams) -> tuple[str, ...]:
    engine = create_engine(params.sqlalchemy_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()


class AlembicTool:
    name = "alembic"

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec

    def _script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(_script_config(self.spec))

    def revisions(self) -> list[Revision]:
        found = []
        for script in reversed(list(self._script().walk_revisions())):
            parents = script.down_revision
            parents = () if parents is None else (parents,) if isinstance(parents, str) else tuple(parents)
            note = script.module.__doc__ or ""
            found.append(Revision(id=script.revision, parents=parents, path=Path(script.path),
                                  note=note, reversible=not _ONE_WAY.search(note)))
        return found

    def heads(self) -> tuple[str, ...]:
        return tuple(sorted(self._script().get_heads()))

    def current(self, params: ConnParams) -> tuple[str, ...]:
        return alembic_current(params)

    def upgrade(self, params: ConnParams, target: str = HEAD) -> None:
        command.upgrade(alembic_config(self.spec, params), "heads" if target == HEAD else target)

    def downgrade(self, params: ConnParams, target: str) -> None:
        command.downgrade(alembic_config(self.spec, params), target)

    def step_sql(self, revision: Revision, direction: str = "upgrade") -> str | None:
        """``alembic upgrade --sql <parent>:<revision>`` (offline mode), captured."""
        cfg = alembic_config(self.spec)
        cfg.set_main_option("sqlalchemy.url", "postgresql://offline/offline")
        out = io.StringIO()
        cfg.stdout = out
        parent = revision.parents[0] if revision.parents else "base"
        with redirect_stdout(out):
            if direction == "upgrade":
                command.upgrade(cfg, f"{parent}:{revision.id}", sql=True)
            else:
                command.downgrade(cfg, f"{revision.id}:{parent}", sql=True)
        return out.getvalue()


register("alembic", AlembicTool)
