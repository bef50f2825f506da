"""What a restored (or crash-recovered) copy must still do, beyond holding the same rows.

Equal rows prove the data came back; they do not prove the copy can take the next write. After
a restore or a crash:

- :func:`sequence_findings`: every sequence that feeds a column (identity, serial, or a
  ``DEFAULT nextval``) hands out its next value above the column's maximum. An UNLOGGED
  sequence is reset by recovery while its table's rows come back: the next insert collides;
- :func:`write_findings`: one more row in every tenant table, for a tenant that existed
  before, is accepted (no duplicate key, no refusal);
- :func:`durability_findings`: the settings a session of the app role runs with, read back on
  the copy (``fsync``, ``full_page_writes``, ``synchronous_commit``, including what the target's
  migrations set per database or role), and no judged table left UNLOGGED.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from harness.core.findings import Finding
from harness.recovery.dataset import Workload

__all__ = ["durability_findings", "sequence_findings", "write_findings"]

# sequences feeding a column: owned by it (serial, identity) or named in its default (nextval)
_FED_COLUMNS = """
with fed as (
    select s.seqrelid, d.refobjid as relid, d.refobjsubid as attnum, s.seqincrement
      from pg_sequence s
      join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = s.seqrelid
       and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i') and d.refobjsubid > 0
    union
    select s.seqrelid, ad.adrelid, ad.adnum, s.seqincrement
      from pg_attrdef ad
      join pg_depend d on d.classid = 'pg_attrdef'::regclass and d.objid = ad.oid
       and d.refclassid = 'pg_class'::regclass
      join pg_sequence s on s.seqrelid = d.refobjid)
select fed.seqrelid::regclass::text, c.oid::regclass::text, a.attname, fed.seqincrement
  from fed join pg_class c on c.oid = fed.relid join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = fed.relid and a.attnum = fed.attnum
 where n.nspname = any(%s) and c.relkind in ('r', 'p')
 order by 1, 2, 3
"""


def sequence_findings(conn: psycopg.Connection, schemas: Sequence[str]) -> list[Finding]:
    """Sequences whose next value is not above the maximum of the column they feed."""
    found = []
    for seq, table, column, increment in conn.execute(_FED_COLUMNS, (list(schemas),)).fetchall():
        last, called = conn.execute(sql.SQL("select last_value, is_called from {}").format(
            sql.SQL(seq))).fetchone()
        top = conn.execute(sql.SQL("select max({}) from {}").format(
            sql.Identifier(column), sql.SQL(table))).fetchone()[0]
        following = last + increment if called else last
        if top is not None and increment > 0 and following <= top:
            found.append(Finding(seq, "restored-sequence",
                                 f"hands out {following} next, but {table}.{column} already holds "
                                 f"values up to {top}: the next insert collides",
                                 "keep sequences LOGGED (an UNLOGGED sequence is reset by recovery), "
                                 "or setval() them after a restore"))
    return found


def write_findings(workload: Workload, what: str) -> list[Finding]:
    """One more row in every tenant table for each of the workload's tenants, on the copy."""
    try:
        workload.write(1)
    except psycopg.errors.UniqueViolation as exc:
        return [Finding(exc.diag.table_name or "tenant table", "write-after-restore",
                        f"a write {what} hit a duplicate key: {str(exc).splitlines()[0]} "
                        f"({exc.diag.message_detail or 'no detail'})",
                        "a restored copy must take the next write: check its sequences")]
    except psycopg.Error as exc:
        return [Finding(exc.diag.table_name or "tenant table", "write-after-restore",
                        f"a write {what} was refused ({exc.sqlstate}): {str(exc).splitlines()[0]}",
                        "a restored copy must take the next write")]
    return []


_DURABLE = {"fsync": ("on",), "full_page_writes": ("on",),
            "synchronous_commit": ("on", "remote_apply", "remote_write", "local")}


def durability_findings(app: psycopg.Connection, owner: psycopg.Connection,
                        schemas: Sequence[str]) -> list[Finding]:
    """The app role's session settings that lose acknowledged commits, and UNLOGGED tables."""
    found = []
    for name, durable in _DURABLE.items():
        value = app.execute("select current_setting(%s)", (name,)).fetchone()[0]
        if value not in durable:
            found.append(Finding(f"setting {name}", "durability-setting",
                                 f"the app role's sessions run with {name}={value}: a crash can lose "
                                 "commits it acknowledged",
                                 f"reset {name} (ALTER DATABASE / ALTER ROLE ... RESET {name})"))
    unlogged = owner.execute(
        "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('r', 'p', 'S') and c.relpersistence = 'u' "
        "order by 1", (list(schemas),)).fetchall()
    found += [Finding(name, "durability-unlogged",
                      "is UNLOGGED: recovery empties it (a sequence: resets it)",
                      "create it LOGGED (ALTER TABLE / SEQUENCE ... SET LOGGED)")
              for (name,) in unlogged]
    return found
