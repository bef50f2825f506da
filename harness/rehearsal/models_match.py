"""Models match: the application's SQLAlchemy models compare clean against the migrated database.

The models' ``MetaData`` is named by the target spec (``migrations.metadata:
package.module:metadata``), never imported from the reference by name; a target without one has
the check declared not applicable. Alembic's ``compare_metadata`` does the comparison. What
counts: a modelled table missing from the database, a column the model has and the database
lacks or the reverse, and a column whose type or nullability differ. Indexes and constraints the
models do not declare, and tables nobody models, are listed but not judged: models need not
describe every index, and bookkeeping tables are nobody's model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.rehearsal.failures import Finding
from harness.secrets import ConnParams

if TYPE_CHECKING:
    from sqlalchemy import MetaData

__all__ = ["model_differences"]

_JUDGED = {"add_table", "add_column", "remove_column", "modify_type", "modify_nullable"}


def model_differences(params: ConnParams, metadata: MetaData) -> tuple[list[Finding], list[str]]:
    """(findings, the differences listed but not judged) between ``metadata`` and the database."""
    # imported here: Alembic's autogenerate brings SQLAlchemy's whole engine (~0.5 s of CPU), and
    # every process that reads the family registry imports this package
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    modelled = set(metadata.tables)
    engine = create_engine(params.sqlalchemy_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    findings, listed = [], []
    for diff in _flatten(diffs):
        kind, text = diff[0], _describe(diff)
        table = _table_of(diff)
        if kind in _JUDGED and (table in modelled or kind == "add_table"):
            findings.append(Finding(table or "models", f"models:{kind}", text))
        else:
            listed.append(text)
    return findings, listed


def _flatten(diffs: list[Any]) -> list[tuple]:
    flat = []
    for diff in diffs:
        # column modifications come as a list of tuples per column
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def _table_of(diff: tuple) -> str | None:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return diff[1].name
    if kind in ("add_column", "remove_column"):
        return diff[2]
    if kind.startswith("modify_"):
        return diff[2]
    obj = diff[1]
    table = getattr(obj, "table", None)
    return getattr(table, "name", None)


def _describe(diff: tuple) -> str:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = "the model has it, the database does not" if kind == "add_table" else \
            "the database has it, no model does"
        return f"{kind} {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "only in the model" if kind == "add_column" else "only in the database"
        return f"{kind} {diff[2]}.{diff[3].name}: {where}"
    if kind.startswith("modify_"):
        return f"{kind} {diff[2]}.{diff[3]}: database {diff[5]!r}, model {diff[6]!r}"
    return f"{kind} {getattr(diff[1], 'name', diff[1])}"
