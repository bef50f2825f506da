"""The target spec: which system is under test and how to reach it.

A YAML file (``target.yaml`` for the reference implementation) is read once and validated into
frozen dataclasses. Every problem becomes a :class:`~harness.errors.ConfigError` naming the file,
the field and what is allowed. ``${VAR}`` references are expanded from the environment; a
missing variable is an error, never an empty string. The DSN is kept as
:class:`~harness.secrets.ConnParams` so that it cannot be printed by accident.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError
from harness.secrets import ConnParams

__all__ = ["BACKENDS", "DEFAULT_DOCKER_IMAGE", "DatabaseSpec", "TargetSpec", "load_target"]

BACKENDS = ("embedded", "docker", "dsn")
DEFAULT_DOCKER_IMAGE = "pgvector/pgvector:pg17"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SETTING = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DatabaseSpec:
    backend: str = "embedded"
    image: str = DEFAULT_DOCKER_IMAGE
    dsn: ConnParams | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MigrationsSpec:
    script_location: Path
    tool: str = "alembic"
    # extra Alembic version directories, on top of <script_location>/versions (e.g. a variant)
    version_locations: tuple[Path, ...] = ()
    # the SQLAlchemy MetaData the rehearsal compares with the migrated database ("pkg.mod:metadata")
    metadata: str | None = None

    def load_metadata(self, spec_path: Path) -> Any:
        return None if self.metadata is None else _import_object(
            str(spec_path), "migrations.metadata", self.metadata, spec_path.parent)


@dataclass(frozen=True)
class ApiSpec:
    asgi: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class TenancySpec:
    """How tenant tables are recognised, and the tables that are global on purpose."""

    column: str = "workspace_id"
    schemas: tuple[str, ...] = ("public",)
    global_tables: dict[str, str] = field(default_factory=dict)
    security_definer_allowlist: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdentityTable:
    """A global identity table whose rows are visible only to the person and their co-members."""

    key: str                      # the identity's id column, e.g. user_id
    actor_setting: str            # the setting the acting person's id is bound to


@dataclass(frozen=True)
class StandardsSpec:
    """What the schema standards and the recovery rehearsal need to know about the target."""

    extensions: dict[str, str] = field(default_factory=lambda: {"plpgsql": "procedural language"})
    identity_tables: dict[str, IdentityTable] = field(default_factory=dict)
    seeds: tuple[Path, ...] = ()          # seed / fixture data files, loaded through the app role
    archive_command: str | None = None    # the WAL archive command to rehearse (None: the harness's)


@dataclass(frozen=True)
class TargetSpec:
    name: str
    path: Path
    database: DatabaseSpec
    migrations: MigrationsSpec
    app_role: str
    tenant_setting: str
    adapter: str | None
    api: ApiSpec
    tenancy: TenancySpec
    # capabilities this target does not have, each with the reason (their items: not applicable)
    unsupported: dict[str, str] = field(default_factory=dict)
    standards: StandardsSpec = field(default_factory=StandardsSpec)

    @property
    def root(self) -> Path:
        return self.path.parent

    def with_backend(self, backend: str | None, image: str | None = None) -> TargetSpec:
        """The same target on another backend (``--harness-backend`` / ``HARNESS_BACKEND``)."""
        db = self.database
        if backend is not None:
            _check_choice(str(self.path), "database.backend", backend, BACKENDS)
            db = replace(db, backend=backend)
        if image:
            db = replace(db, image=image)
        if db.backend == "dsn" and db.dsn is None:
            dsn = os.environ.get("HARNESS_DSN")
            if not dsn:
                raise ConfigError(
                    str(self.path), "database.dsn", "backend 'dsn' needs a DSN",
                    "set database.dsn in the spec or export HARNESS_DSN",
                )
            db = replace(db, dsn=ConnParams.from_dsn(dsn))
        return replace(self, database=db)

    def load_adapter_class(self) -> type:
        return _import_object(str(self.path), "adapter", self.adapter or "", self.root)


def load_target(path: str | os.PathLike[str], *, backend: str | None = None) -> TargetSpec:
    """Reads and validates a target spec. ``backend`` (or ``HARNESS_BACKEND``) overrides the file."""
    spec_path = Path(path).resolve()
    where = str(path)
    try:
        raw = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, "", "file not found", "pass --target FILE naming a target spec") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else "YAML"
        raise ConfigError(where, line, f"not valid YAML ({getattr(exc, 'problem', exc)})",
                          "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise ConfigError(where, "", "must be a mapping of fields", "see target.yaml for the shape")
    raw = _expand(where, "", raw)
    _reject_unknown(where, "", raw, {"name", "database", "migrations", "app_role", "tenant_setting",
                                    "adapter", "api", "tenancy", "unsupported", "standards"})

    name = _text(where, "name", raw.get("name"), required=True)
    database = _database(where, raw.get("database") or {})
    migrations = _migrations(where, spec_path.parent, raw.get("migrations"))
    app_role = _text(where, "app_role", raw.get("app_role", "app_user"))
    if not _IDENT.match(app_role):
        raise ConfigError(where, "app_role", f"{app_role!r} is not a plain role name",
                          "use lower-case letters, digits and underscores")
    tenant_setting = _text(where, "tenant_setting", raw.get("tenant_setting", "app.workspace_id"))
    if not _SETTING.match(tenant_setting):
        raise ConfigError(where, "tenant_setting", f"{tenant_setting!r} is not a custom setting name",
                          "use a dotted name such as app.workspace_id")
    adapter = raw.get("adapter")
    if adapter is not None:
        _import_object(where, "adapter", _text(where, "adapter", adapter), spec_path.parent)
    spec = TargetSpec(
        name=name, path=spec_path, database=database, migrations=migrations, app_role=app_role,
        tenant_setting=tenant_setting, adapter=adapter, api=_api(where, raw.get("api") or {}),
        tenancy=_tenancy(where, raw.get("tenancy") or {}),
        unsupported=_reasons(where, "unsupported", raw.get("unsupported", {})),
        standards=_standards(where, spec_path.parent, raw.get("standards") or {}),
    )
    env_backend = os.environ.get("HARNESS_BACKEND") or None
    return spec.with_backend(backend or env_backend, os.environ.get("HARNESS_DOCKER_IMAGE") or None)


def _database(where: str, raw: Any) -> DatabaseSpec:
    _mapping(where, "database", raw)
    _reject_unknown(where, "database", raw, {"backend", "image", "dsn"})
    backend = _text(where, "database.backend", raw.get("backend", "embedded"))
    _check_choice(where, "database.backend", backend, BACKENDS)
    image = _text(where, "database.image", raw.get("image", DEFAULT_DOCKER_IMAGE))
    dsn_text = raw.get("dsn")
    dsn = None
    if dsn_text is not None:
        try:
            dsn = ConnParams.from_dsn(_text(where, "database.dsn", dsn_text))
        except Exception:
            # the psycopg message would echo the DSN, password included
            raise ConfigError(where, "database.dsn", "is not a valid PostgreSQL DSN",
                              "use postgresql://user:password@host:port/dbname") from None
    if backend == "dsn" and dsn is None and not os.environ.get("HARNESS_DSN"):
        raise ConfigError(where, "database.dsn", "backend 'dsn' needs a DSN",
                          "set database.dsn: ${HARNESS_DSN} and export HARNESS_DSN")
    return DatabaseSpec(backend=backend, image=image, dsn=dsn)


def _migrations(where: str, root: Path, raw: Any) -> MigrationsSpec:
    if raw is None:
        raise ConfigError(where, "migrations", "is missing",
                          "add migrations: {tool: alembic, script_location: path/to/migrations}")
    _mapping(where, "migrations", raw)
    _reject_unknown(where, "migrations", raw, {"tool", "script_location", "version_locations", "metadata"})
    tool = _text(where, "migrations.tool", raw.get("tool", "alembic"))
    _check_choice(where, "migrations.tool", tool, ("alembic",))
    location = raw.get("script_location")
    if not location:
        raise ConfigError(where, "migrations.script_location", "is missing",
                          "name the Alembic script directory, e.g. reference_impl/migrations")
    path = (root / _text(where, "migrations.script_location", location)).resolve()
    if not (path / "env.py").is_file():
        raise ConfigError(where, "migrations.script_location",
                          f"{location!r} has no env.py (looked in {path})",
                          "point it at the folder holding Alembic's env.py")
    metadata = raw.get("metadata")
    if metadata is not None and ":" not in _text(where, "migrations.metadata", metadata):
        raise ConfigError(where, "migrations.metadata", f"{metadata!r} is not an import path",
                          "write it as package.module:metadata")
    return MigrationsSpec(script_location=path, tool=tool,
                          version_locations=_version_locations(where, root, raw.get("version_locations", [])),
                          metadata=metadata)


def _version_locations(where: str, root: Path, raw: Any) -> tuple[Path, ...]:
    fld = "migrations.version_locations"
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise ConfigError(where, fld, "must be a list of folders",
                          "e.g. version_locations: [variants/extra_versions], relative to the spec")
    paths = []
    for i, entry in enumerate(raw):
        path = (root / entry).resolve()
        if not path.is_dir():
            raise ConfigError(where, f"{fld}[{i}]", f"{entry!r} is not a folder (looked in {path})",
                              "name a folder of Alembic revision files, relative to the spec")
        if os.pathsep in str(path):
            raise ConfigError(where, f"{fld}[{i}]", f"{path} contains {os.pathsep!r}",
                              "move the folder to a path without it")
        paths.append(path)
    return tuple(paths)


def _api(where: str, raw: Any) -> ApiSpec:
    _mapping(where, "api", raw)
    _reject_unknown(where, "api", raw, {"asgi", "base_url"})
    asgi, base_url = raw.get("asgi"), raw.get("base_url")
    if asgi and base_url:
        raise ConfigError(where, "api", "sets both asgi and base_url", "keep exactly one of them")
    return ApiSpec(asgi=asgi, base_url=base_url)


def _tenancy(where: str, raw: Any) -> TenancySpec:
    _mapping(where, "tenancy", raw)
    _reject_unknown(where, "tenancy", raw, {"column", "schemas", "global_tables",
                                            "security_definer_allowlist"})
    column = _text(where, "tenancy.column", raw.get("column", "workspace_id"))
    schemas = raw.get("schemas", ["public"])
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas) or not schemas:
        raise ConfigError(where, "tenancy.schemas", "must be a non-empty list of schema names",
                          "e.g. schemas: [public]")
    return TenancySpec(
        column=column, schemas=tuple(schemas),
        global_tables=_reasons(where, "tenancy.global_tables", raw.get("global_tables", {})),
        security_definer_allowlist=_reasons(where, "tenancy.security_definer_allowlist",
                                            raw.get("security_definer_allowlist", {})),
    )


def _standards(where: str, root: Path, raw: Any) -> StandardsSpec:
    _mapping(where, "standards", raw)
    _reject_unknown(where, "standards", raw, {"extensions", "identity_tables", "seeds",
                                              "archive_command"})
    extensions = _reasons(where, "standards.extensions",
                          raw.get("extensions", {"plpgsql": "procedural language"}))
    identity = raw.get("identity_tables", {})
    _mapping(where, "standards.identity_tables", identity)
    tables = {}
    for name, rule in identity.items():
        fld = f"standards.identity_tables.{name}"
        _mapping(where, fld, rule)
        _reject_unknown(where, fld, rule, {"key", "actor_setting"})
        key = _text(where, f"{fld}.key", rule.get("key"), required=True)
        setting = _text(where, f"{fld}.actor_setting", rule.get("actor_setting"), required=True)
        tables[str(name)] = IdentityTable(key=key, actor_setting=setting)
    seeds_raw = raw.get("seeds", [])
    if not isinstance(seeds_raw, list) or not all(isinstance(p, str) for p in seeds_raw):
        raise ConfigError(where, "standards.seeds", "must be a list of files",
                          "e.g. seeds: [fixtures/seeds/reference.yaml], relative to the spec")
    seeds = []
    for entry in seeds_raw:  # existence is checked when the seeds load (specs get copied around)
        seeds.append((root / entry).resolve())
    archive = raw.get("archive_command")
    if archive is not None:
        archive = _text(where, "standards.archive_command", archive, required=True)
        if "%p" not in archive or "%f" not in archive:
            raise ConfigError(where, "standards.archive_command", "must use %p (the WAL file) and %f (its name)",
                              "e.g. cp %p {archive}/%f; {archive} is the harness's archive folder")
    return StandardsSpec(extensions=extensions, identity_tables=tables, seeds=tuple(seeds),
                         archive_command=archive)


def _reasons(where: str, fld: str, raw: Any) -> dict[str, str]:
    """An allowlist is a mapping name -> reason: an entry without a reason is not accepted."""
    if not isinstance(raw, dict):
        raise ConfigError(where, fld, "must map each name to the reason it is allowed",
                          "e.g. users: global identities, no tenant")
    for name, reason in raw.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(where, f"{fld}.{name}", "has no reason", "write why it is allowed")
    return {str(k): str(v) for k, v in raw.items()}


def _import_object(where: str, fld: str, ref: str, root: Path) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(where, fld, f"{ref!r} is not an import path",
                          "write it as package.module:ClassName")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(where, fld, f"module {module_name!r} does not import ({type(exc).__name__}: {exc})",
                          "check the module path and that the package is installed") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(where, fld, f"module {module_name!r} has no {attr!r}",
                          "name a class defined in that module") from None


def _expand(where: str, fld: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _expand(where, f"{fld}.{k}" if fld else str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(where, f"{fld}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(where, fld, f"${{{name}}} is not set", f"export {name} or edit the spec")
            return os.environ[name]
        return _VAR.sub(sub, value)
    return value


def _mapping(where: str, fld: str, raw: Any) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(where, fld, f"must be a mapping, got {type(raw).__name__}", "see target.yaml")


def _reject_unknown(where: str, fld: str, raw: dict, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            prefix = f"{fld}." if fld else ""
            raise ConfigError(where, f"{prefix}{key}", "is not a known field",
                              f"allowed: {', '.join(sorted(allowed))}")


def _text(where: str, fld: str, value: Any, *, required: bool = False) -> str:
    if value is None and required:
        raise ConfigError(where, fld, "is missing", "add it")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(where, fld, f"must be text, got {value!r}", "quote it as a string")
    return value


def _check_choice(where: str, fld: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(where, fld, f"{value!r} is not one of {', '.join(allowed)}",
                          f"use one of {', '.join(allowed)}")
