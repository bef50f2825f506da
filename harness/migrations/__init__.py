"""Running a target's migrations, whatever tool writes them.

A migration tool is a small :class:`MigrationTool` Protocol: list the revisions in order (with
each one's rollback note and whether it can be reversed), upgrade, downgrade, read the current
revision, and give one step's SQL for static lint. Tools are registered by name (the spec's
``migrations.tool``); ``alembic`` ships here, and another tool (an ordered folder of SQL files,
Sqitch, Flyway) is one module that registers itself in :data:`TOOLS`.

The module-level functions (:func:`upgrade`, :func:`downgrade`, :func:`script_heads`,
:func:`current_heads`) are what the lifecycle and the plugin call; they dispatch on the spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.secrets import ConnParams
    from harness.target import TargetSpec

__all__ = ["BASE", "HEAD", "TOOLS", "MigrationStep", "MigrationTool", "Revision", "bookkeeping_tables",
           "current_heads", "downgrade", "register", "script_heads", "tool_for", "upgrade"]

BASE = "base"
HEAD = "head"


@dataclass(frozen=True)
class MigrationStep:
    direction: str      # "upgrade" | "downgrade"
    target: str
    seconds: float


@dataclass(frozen=True)
class Revision:
    """One step of the chain, as the tool declares it."""

    id: str
    parents: tuple[str, ...]       # () for the first revision
    path: Path | None              # the file that defines it
    note: str                      # its docstring / header: where the rollback note lives
    reversible: bool = True        # False: a one-way door (no down step; rehearsed forward only)


class MigrationTool(Protocol):
    """What the harness needs from a migration tool; one instance per target spec."""

    name: str

    def revisions(self) -> list[Revision]:
        """Every revision, base first (a branched history lists every branch)."""

    def heads(self) -> tuple[str, ...]:
        """The chain's head revision(s) on disk."""

    def current(self, params: ConnParams) -> tuple[str, ...]:
        """The revision(s) a database is at; ``()`` for an empty database."""

    def upgrade(self, params: ConnParams, target: str = HEAD) -> None:
        """Applies revisions up to ``target`` (a revision id or ``head``)."""

    def downgrade(self, params: ConnParams, target: str) -> None:
        """Reverts revisions down to ``target`` (a revision id or ``base``)."""

    def step_sql(self, revision: Revision, direction: str = "upgrade") -> str | None:
        """The SQL of one step, for static lint; None when the tool cannot tell offline."""


TOOLS: dict[str, Callable[[TargetSpec], MigrationTool]] = {}


def register(name: str, factory: Callable[[TargetSpec], MigrationTool]) -> None:
    TOOLS[name] = factory


def tool_for(spec: TargetSpec) -> MigrationTool:
    _load_builtin_tools()
    return TOOLS[spec.migrations.tool](spec)


def bookkeeping_tables(tool: MigrationTool) -> tuple[str, ...]:
    """The tables a tool keeps its own state in (never part of the application's schema)."""
    return tuple(getattr(tool, "bookkeeping_tables", ("alembic_version",) if tool.name == "alembic" else ()))


def upgrade(spec: TargetSpec, params: ConnParams, revision: str = HEAD) -> MigrationStep:
    started = time.perf_counter()
    tool_for(spec).upgrade(params, revision)
    return MigrationStep("upgrade", revision, time.perf_counter() - started)


def downgrade(spec: TargetSpec, params: ConnParams, revision: str) -> MigrationStep:
    started = time.perf_counter()
    tool_for(spec).downgrade(params, revision)
    return MigrationStep("downgrade", revision, time.perf_counter() - started)


def script_heads(spec: TargetSpec) -> tuple[str, ...]:
    return tool_for(spec).heads()


def current_heads(params: ConnParams, spec: TargetSpec | None = None) -> tuple[str, ...]:
    if spec is None:  # the historical signature: an Alembic database
        from harness.migrations.alembic_tool import alembic_current

        return alembic_current(params)
    return tool_for(spec).current(params)


def _load_builtin_tools() -> None:
    if "alembic" not in TOOLS:
        from harness.migrations import alembic_tool  # noqa: F401  (registers itself)
    if "sql" not in TOOLS:
        from harness.migrations import sql_folder  # noqa: F401  (registers itself)
