"""Schema snapshots from the catalog, and the readable diff between two of them.

Alembic's autogenerate compares tables and columns; it cannot see row-level security, policies,
grants, triggers or functions, which is exactly what a careless ``downgrade()`` forgets. A
:class:`Snapshot` reads all of them from ``pg_catalog`` for the application schemas: tables
(kind, RLS enabled / forced), columns (type, nullability, default, identity, generated),
constraints and indexes (with their definitions), policies (command, roles, USING, WITH CHECK),
grants on tables and on single columns, storage parameters (``reloptions``, the TOAST table's
too) and access methods, triggers, functions, views, sequences, types, extensions and the
schemas themselves. Each section is a sorted tuple of lines, so two snapshots compare with
``==`` and differ with a unified diff a reviewer can read. Column order (``attnum``) is
deliberately not part of it: a downgrade that re-adds a column at the end has restored the
schema.

The comparison (:func:`difference`) never crashes on what the catalog answered: a line it
cannot read (NULL, not text, a section that is not a list) is shown raw as a difference, and
the comparison's own exception goes in a separate checker-defect section.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.core.judging import DEFECT_TITLE, checker_defect, raw

__all__ = ["Snapshot", "difference", "take_snapshot"]

_SYSTEM = "n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_%%'"
_NOT_EXT = """not exists (select 1 from pg_depend d where d.classid = {cls}::regclass and d.objid = {oid}
                         and d.deptype = 'e')"""

_QUERIES: dict[str, str] = {
    "schemas": f"""select n.nspname || ' owner=' || pg_get_userbyid(n.nspowner)
                   || ' acl=' || coalesce(n.nspacl::text, '-')
                   from pg_namespace n where {_SYSTEM} and n.nspname <> 'public'""",
    "extensions": "select extname || ' ' || extversion from pg_extension",
    "tables": f"""select c.oid::regclass::text || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
                  || ' forced=' || c.relforcerowsecurity || ' persistence=' || c.relpersistence::text
                  from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where c.relkind in ('r', 'p', 'f', 'm') and {_SYSTEM}
                    and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    "columns": f"""select c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                   || case when a.attnotnull then ' not null' else '' end
                   || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                   || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
                   || case when a.attgenerated <> '' then ' generated' else '' end
                   from pg_attribute a join pg_class c on c.oid = a.attrelid
                   join pg_namespace n on n.oid = c.relnamespace
                   left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
                   where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f')
                     and {_SYSTEM} and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    "constraints": f"""select coalesce(con.conrelid::regclass::text, con.contypid::regtype::text) || ' '
                       || con.conname || ': ' || pg_get_constraintdef(con.oid)
                       || case when con.condeferrable then ' deferrable' else '' end
                       from pg_constraint con join pg_namespace n on n.oid = con.connamespace
                       where {_SYSTEM} and con.contype <> 'n'""",
    "indexes": f"""select pg_get_indexdef(i.indexrelid) || case when i.indisvalid then '' else ' INVALID' end
                   from pg_index i join pg_class c on c.oid = i.indexrelid
                   join pg_namespace n on n.oid = c.relnamespace
                   where {_SYSTEM} and {_NOT_EXT.format(cls="'pg_class'", oid='i.indrelid')}""",
    "policies": f"""select p.polrelid::regclass::text || ' ' || p.polname || ' ' || p.polcmd::text
                    || case when p.polpermissive then ' permissive' else ' restrictive' end
                    || ' to ' || array_to_string(array(select case when r = 0 then 'public'
                         else pg_get_userbyid(r) end from unnest(p.polroles) r order by 1), ',')
                    || coalesce(' using ' || pg_get_expr(p.polqual, p.polrelid), '')
                    || coalesce(' check ' || pg_get_expr(p.polwithcheck, p.polrelid), '')
                    from pg_policy p join pg_class c on c.oid = p.polrelid
                    join pg_namespace n on n.oid = c.relnamespace where {_SYSTEM}""",
    "grants": f"""select c.oid::regclass::text || ' ' || case when g.grantee = 0 then 'public'
                    else pg_get_userbyid(g.grantee) end || ' ' || g.privilege_type
                    || case when g.is_grantable then ' grantable' else '' end
                  from pg_class c join pg_namespace n on n.oid = c.relnamespace,
                       aclexplode(c.relacl) g
                  where {_SYSTEM} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
                  union all
                  select p.oid::regprocedure::text || ' ' || case when g.grantee = 0 then 'public'
                    else pg_get_userbyid(g.grantee) end || ' ' || g.privilege_type
                  from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
                       aclexplode(p.proacl) g
                  where {_SYSTEM} and {_NOT_EXT.format(cls="'pg_proc'", oid='p.oid')}""",
    # a column GRANT lives in pg_attribute.attacl, apart from the table's relacl above
    "column_grants": f"""select c.oid::regclass::text || '.' || a.attname || ' '
                    || case when g.grantee = 0 then 'public' else pg_get_userbyid(g.grantee) end
                    || ' ' || g.privilege_type || case when g.is_grantable then ' grantable' else '' end
                  from pg_attribute a join pg_class c on c.oid = a.attrelid
                  join pg_namespace n on n.oid = c.relnamespace, aclexplode(a.attacl) g
                  where a.attnum > 0 and not a.attisdropped and a.attacl is not null and {_SYSTEM}
                    and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    # storage parameters (fillfactor, autovacuum_*, toast.*) and the table access method
    "storage": f"""select c.oid::regclass::text || ' am=' || coalesce(am.amname, '-')
                   || ' options=' || coalesce(array_to_string(array(select o from unnest(c.reloptions) o
                                                                   order by 1), ','), '-')
                   || ' toast=' || coalesce(array_to_string(array(select o from unnest(t.reloptions) o
                                                                 order by 1), ','), '-')
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   left join pg_am am on am.oid = c.relam
                   left join pg_class t on t.oid = c.reltoastrelid
                   where c.relkind in ('r', 'p', 'm') and {_SYSTEM}
                     and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    "triggers": f"""select pg_get_triggerdef(t.oid) || case when t.tgenabled = 'D' then ' DISABLED' else '' end
                    from pg_trigger t join pg_class c on c.oid = t.tgrelid
                    join pg_namespace n on n.oid = c.relnamespace
                    where not t.tgisinternal and {_SYSTEM}""",
    "functions": f"""select p.oid::regprocedure::text || ' owner=' || pg_get_userbyid(p.proowner)
                     || ' md5=' || md5(case when p.prokind in ('f', 'p', 'w') then pg_get_functiondef(p.oid)
                                            else p.prosrc end)
                     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                     where {_SYSTEM} and {_NOT_EXT.format(cls="'pg_proc'", oid='p.oid')}""",
    "views": f"""select c.oid::regclass::text || ' ' || c.relkind::text || ' options='
                 || coalesce(c.reloptions::text, '-') || ' md5=' || md5(pg_get_viewdef(c.oid))
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where c.relkind in ('v', 'm') and {_SYSTEM}
                   and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    "sequences": f"""select s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, null)
                     || ' start=' || s.seqstart || ' inc=' || s.seqincrement || ' min=' || s.seqmin
                     || ' max=' || s.seqmax || ' cycle=' || s.seqcycle
                     from pg_sequence s join pg_class c on c.oid = s.seqrelid
                     join pg_namespace n on n.oid = c.relnamespace
                     where {_SYSTEM} and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}""",
    "types": f"""select t.oid::regtype::text || ' ' || t.typtype::text || coalesce(' ' || array_to_string(
                   array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid
                         order by e.enumsortorder), ','), '')
                 || case when t.typtype = 'd' then ' base=' || format_type(t.typbasetype, t.typtypmod)
                    else '' end
                 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where t.typtype in ('e', 'd', 'r', 'c') and {_SYSTEM}
                   and (t.typtype <> 'c' or exists (select 1 from pg_class c where c.oid = t.typrelid
                                                    and c.relkind = 'c'))
                   and {_NOT_EXT.format(cls="'pg_type'", oid='t.oid')}""",
}


@dataclass(frozen=True)
class Snapshot:
    """The application's objects as the catalog describes them, section by section."""

    sections: dict[str, tuple[str, ...]]
    tables: dict[str, tuple[str, ...]]          # table (regclass text) -> its column names
    keys: dict[str, tuple[str, ...]]            # table -> primary key columns (may be empty)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and self._normal() == other._normal()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._normal().items())))

    def _normal(self) -> dict[str, tuple[str, ...]]:
        return {str(name): _lines(lines) for name, lines in self.sections.items()}

    def diff(self, other: Snapshot, before: str = "before", after: str = "after") -> str:
        """A unified diff per section of what ``other`` has that this lacks, and vice versa."""
        parts = []
        ours, theirs = self._normal(), other._normal()
        for name in sorted(set(ours) | set(theirs)):
            a, b = ours.get(name, ()), theirs.get(name, ())
            if a != b:
                lines = difflib.unified_diff(a, b, f"{before} [{name}]", f"{after} [{name}]",
                                             lineterm="", n=0)
                parts.append("\n".join(line for line in lines if not line.startswith("@@")))
        return "\n\n".join(parts)

    def count(self) -> int:
        return sum(len(v) for v in self._normal().values())


def _lines(section: Any) -> tuple[str, ...]:
    """A section as sorted text lines, whatever it holds: a line that is not text is shown as
    its repr, so it differs from every real line instead of breaking the comparison."""
    if isinstance(section, (str, bytes)) or not hasattr(section, "__iter__"):
        section = (section,)
    return tuple(sorted(line if isinstance(line, str) else f"<unreadable: {line!r}>" for line in section))


def difference(expected: Snapshot, actual: Snapshot, before: str = "before",
               after: str = "after") -> str | None:
    """None when the two snapshots are equal, else the diff a reviewer reads. Never raises: if
    the comparison itself breaks, both snapshots go raw into the answer (still a difference,
    a failure of the target) with the checker's traceback in its own section."""
    try:
        if expected == actual:
            return None
        text = expected.diff(actual, before, after)
        return text or "(the snapshots differ in a way the diff does not show; raw sections follow)\n" + \
            raw({"before": _raw_sections(expected), "after": _raw_sections(actual)})
    except Exception as exc:  # judge, never crash
        return (f"the checker could not compare the snapshots ({type(exc).__name__}: {exc})\n\n"
                f"--- {before} (raw) ---\n{raw(_raw_sections(expected))}\n\n"
                f"--- {after} (raw) ---\n{raw(_raw_sections(actual))}\n\n"
                f"--- {DEFECT_TITLE} ---\n{checker_defect(exc)}")


def _raw_sections(snapshot: Any) -> Any:
    try:
        return snapshot.sections
    except Exception:  # whatever it is, its repr is the evidence
        return repr(snapshot)


def take_snapshot(conn: psycopg.Connection, ignore_tables: tuple[str, ...] = ()) -> Snapshot:
    """Reads every application object through ``conn`` (any role that can read the catalog).

    ``ignore_tables`` are the migration tool's own bookkeeping tables (``alembic_version``):
    lines that name them are left out, so base after a downgrade equals an empty database.
    """
    sections = {}
    for name, query in _QUERIES.items():
        rows = [r[0] if isinstance(r[0], str) else f"<unreadable {name} row: {r!r}>"
                for r in conn.execute(query).fetchall()]
        sections[name] = tuple(sorted(r for r in rows if not _names(r, ignore_tables)))
    tables: dict[str, list[str]] = {}
    for table, column in conn.execute(_TABLE_COLUMNS).fetchall():
        if table not in ignore_tables:
            tables.setdefault(table, []).append(column)
    keys = {t: tuple(k) for t, k in conn.execute(_PRIMARY_KEYS).fetchall()}
    return Snapshot(sections, {t: tuple(c) for t, c in tables.items()},
                    {t: keys.get(t, ()) for t in tables})


def _names(line: str, tables: tuple[str, ...]) -> bool:
    first = line.split(" ", 1)[0]
    return any(first == t or first.startswith(t + ".") or f" ON {t} " in line
               or f" ON public.{t} " in line for t in tables)


_TABLE_COLUMNS = f"""
select c.oid::regclass::text, a.attname from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relkind in ('r', 'p') and {_SYSTEM} and {_NOT_EXT.format(cls="'pg_class'", oid='c.oid')}
order by 1, a.attnum"""

_PRIMARY_KEYS = f"""
select con.conrelid::regclass::text,
       array(select a.attname::text from unnest(con.conkey) with ordinality k(num, pos)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.pos)
from pg_constraint con join pg_namespace n on n.oid = con.connamespace
where con.contype = 'p' and {_SYSTEM}"""
