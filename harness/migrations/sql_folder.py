"""The ``sql`` migration tool: an ordered folder of plain ``.sql`` files.

Most systems that are not Python keep their schema as a folder of SQL files. This tool runs one
(plus any extra folders the spec names in ``version_locations``, merged into the same order),
recording each applied file in a bookkeeping table (``public.harness_schema_migrations``).
File names it understands:

- Supabase CLI and dbmate: ``<timestamp>_<name>.sql`` (``20240101120000_accounts.sql``);
- Flyway: ``V<version>__<name>.sql`` (``V2__accounts.sql``, ``V2_1__index.sql``), with an
  optional undo file ``U<version>__<name>.sql`` as its down step.

A file may hold dbmate's sections: ``-- migrate:up`` (add ``transaction:false`` for statements
that cannot run in a transaction, such as ``CREATE INDEX CONCURRENTLY``) and ``-- migrate:down``,
whose SQL is the real downgrade. A file with no down section (and no Flyway undo file) is a
one-way door: :class:`~harness.migrations.Revision` says ``reversible=False`` and a downgrade
through it is refused. The comment lines a file starts with are its note (where a rollback note
lives). The app role's name is available to the SQL as ``current_setting('harness.app_role')``,
so a migration can grant to whatever role the harness runs scenarios as.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from harness.errors import ConfigError, HarnessError
from harness.migrations import BASE, HEAD, Revision, register
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["BOOKKEEPING_TABLE", "MigrationFile", "SqlFolderTool", "read_folder", "split_statements",
           "version_order"]

BOOKKEEPING_TABLE = "harness_schema_migrations"
_FLYWAY = re.compile(r"^(?P<kind>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<name>[^/]+)\.sql$")
_TIMESTAMP = re.compile(r"^(?P<version>\d+)_(?P<name>[^/]+)\.sql$")
_SECTION = re.compile(r"^--\s*migrate:(?P<which>up|down)\b(?P<options>[^\n]*)$", re.MULTILINE)


@dataclass(frozen=True)
class MigrationFile:
    version: str                 # "20240101120000", "2.1"
    name: str
    path: Path
    up: str
    down: str | None             # None: a one-way door
    transactional: bool = True
    note: str = ""

    @property
    def order(self) -> tuple[int, ...]:
        return version_order(self.version)


def version_order(version: str) -> tuple[int, ...]:
    """The sort key of a version ("20240101120000", "2.1"); a version that is not dotted digits
    (a row some other tool wrote into the bookkeeping table) sorts last, never raises."""
    parts = version.split(".")
    if all(part.isdigit() for part in parts):
        return tuple(int(part) for part in parts)
    return (2**63,)


def read_folder(folders: tuple[Path, ...]) -> list[MigrationFile]:
    """Every migration in ``folders``, in order; a name it cannot order is an error."""
    found: dict[str, MigrationFile] = {}
    undo: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.sql")):
            flyway, stamp = _FLYWAY.match(path.name), _TIMESTAMP.match(path.name)
            if flyway and flyway["kind"] == "U":
                undo[flyway["version"].replace("_", ".")] = path.read_text(encoding="utf-8")
                continue
            match = flyway or stamp
            if match is None:
                raise ConfigError(str(path), "migrations.location",
                                  f"{path.name} has no version the order can come from",
                                  "name it <timestamp>_<name>.sql or V<n>__<name>.sql")
            version = match["version"].replace("_", ".")
            if version in found:
                raise ConfigError(str(path), "migrations.location",
                                  f"version {version} is also {found[version].path}",
                                  "give every migration its own version")
            found[version] = _parse(path, version, match["name"])
    for version, text in undo.items():
        if version in found and found[version].down is None:
            found[version] = _with_down(found[version], text)
    return sorted(found.values(), key=lambda m: m.order)


def _parse(path: Path, version: str, name: str) -> MigrationFile:
    text = path.read_text(encoding="utf-8")
    sections = {m["which"]: m for m in _SECTION.finditer(text)}
    note = _header(text)
    if "up" not in sections:
        return MigrationFile(version, name, path, text, None, note=note)
    up_start = sections["up"].end()
    down = sections.get("down")
    up = text[up_start:down.start()] if down and down.start() > up_start else text[up_start:]
    down_sql = text[down.end():] if down else None
    if down_sql is not None and not _has_sql(down_sql):
        down_sql = None  # an empty down section is no way back either
    return MigrationFile(version, name, path, up, down_sql,
                         "transaction:false" not in sections["up"]["options"], note)


def _with_down(migration: MigrationFile, down: str) -> MigrationFile:
    return MigrationFile(migration.version, migration.name, migration.path, migration.up, down,
                         migration.transactional, migration.note)


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        if _SECTION.match(stripped):
            break
        lines.append(stripped[2:].strip())
    return "\n".join(lines).strip()


_TOKEN = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$[A-Za-z_0-9]*\$)|;",
                    re.DOTALL)


def split_statements(text: str) -> list[str]:
    """The statements of ``text``, split on semicolons outside quotes, comments and $$ bodies."""
    statements, start, pos = [], 0, 0
    while (match := _TOKEN.search(text, pos)) is not None:
        if match.group(1):  # a dollar-quoted body runs to the same tag
            end = text.find(match.group(1), match.end())
            pos = len(text) if end < 0 else end + len(match.group(1))
            continue
        if match.group(0) == ";":
            statements.append(text[start:match.start()])
            start = match.end()
        pos = match.end()
    statements.append(text[start:])
    return [s.strip() for s in statements if _has_sql(s)]


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


class SqlFolderTool:
    name = "sql"
    # the rehearsal leaves these out of snapshots and never seeds them (a seeded row here would
    # be read back as an applied version)
    bookkeeping_tables = (BOOKKEEPING_TABLE, f"public.{BOOKKEEPING_TABLE}")

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.folders = (spec.migrations.script_location, *spec.migrations.version_locations)

    def files(self) -> list[MigrationFile]:
        return read_folder(self.folders)

    def revisions(self) -> list[Revision]:
        files, revisions, parent = self.files(), [], ()
        for migration in files:
            revisions.append(Revision(id=migration.version, parents=parent, path=migration.path,
                                      note=migration.note, reversible=migration.down is not None))
            parent = (migration.version,)
        return revisions

    def heads(self) -> tuple[str, ...]:
        files = self.files()
        return (files[-1].version,) if files else ()

    def current(self, params: ConnParams) -> tuple[str, ...]:
        with psycopg.connect(params.conninfo(), autocommit=True) as conn:
            applied = self._applied(conn)
        return (applied[-1],) if applied else ()

    def upgrade(self, params: ConnParams, target: str = HEAD) -> None:
        files = self.files()
        self._known(files, target, HEAD)
        with psycopg.connect(params.conninfo(), autocommit=True) as conn:
            self._prepare(conn)
            applied = set(self._applied(conn))
            for migration in files:
                if migration.version not in applied:
                    self._run(conn, migration, migration.up, record=True)
                if migration.version == target:
                    break

    def downgrade(self, params: ConnParams, target: str) -> None:
        files = self.files()
        self._known(files, target, BASE)
        with psycopg.connect(params.conninfo(), autocommit=True) as conn:
            self._prepare(conn)
            applied = set(self._applied(conn))
            for migration in reversed(files):
                if migration.version == target:
                    break
                if migration.version not in applied:
                    continue
                if migration.down is None:
                    raise HarnessError(
                        f"{migration.path.name} is a one-way door: it has no '-- migrate:down' "
                        "section (nor a Flyway U file), so it cannot be rolled back; restore from "
                        "a backup or write the down section")
                self._run(conn, migration, migration.down, record=False)

    def step_sql(self, revision: Revision, direction: str = "upgrade") -> str | None:
        migration = next((m for m in self.files() if m.version == revision.id), None)
        if migration is None:
            return None
        return migration.up if direction == "upgrade" else migration.down

    # -- internals ---------------------------------------------------------------------------
    def _prepare(self, conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("create table if not exists {} (version text primary key, name text "
                             "not null, applied_at timestamptz not null default now())")
                     .format(self._table()))
        # the migrations may grant to the role scenarios run as, whatever it is called
        conn.execute("select set_config('harness.app_role', %s, false)", (self.spec.app_role,))

    def _run(self, conn: psycopg.Connection, migration: MigrationFile, text: str, record: bool) -> None:
        if record:
            bookkeeping = (sql.SQL("insert into {} (version, name) values (%s, %s)").format(self._table()),
                           (migration.version, migration.name))
        else:
            bookkeeping = (sql.SQL("delete from {} where version = %s").format(self._table()),
                           (migration.version,))
        try:
            if migration.transactional:
                with conn.transaction():
                    conn.execute(text.encode())
                    conn.execute(*bookkeeping)
            else:
                # one statement at a time: a multi-statement string is one implicit transaction
                for statement in split_statements(text):
                    conn.execute(statement.encode())
                conn.execute(*bookkeeping)
        except psycopg.Error as err:
            step = "up" if record else "down"
            raise HarnessError(f"{migration.path.name} ({step}) failed: "
                               f"{err.sqlstate} {str(err).splitlines()[0]}") from err

    def _applied(self, conn: psycopg.Connection) -> list[str]:
        exists = conn.execute("select to_regclass(%s)", (f"public.{BOOKKEEPING_TABLE}",)).fetchone()[0]
        if exists is None:
            return []
        versions = [r[0] for r in conn.execute(sql.SQL("select version from {}").format(self._table()))]
        return sorted(versions, key=lambda v: (version_order(v), v))

    @staticmethod
    def _table() -> sql.Identifier:
        return sql.Identifier("public", BOOKKEEPING_TABLE)

    def _known(self, files: list[MigrationFile], target: str, edge: str) -> None:
        if target != edge and target not in {m.version for m in files}:
            raise HarnessError(f"no migration {target!r} in {self.spec.migrations.script_location}: "
                               f"name a version from the file names, or {edge}")


register("sql", SqlFolderTool)
