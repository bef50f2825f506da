"""The target spec: which system is under test and how to reach it.

A YAML file (``target.yaml`` for the reference implementation) is read once and validated into
frozen dataclasses. Every problem becomes a :class:`~harness.errors.ConfigError` naming the file,
the field and what is allowed. ``${VAR}`` references are expanded from the environment; a
missing variable is an error, never an empty string. The DSN is kept as
:class:`~harness.secrets.ConnParams` so that it cannot be printed by accident.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.extends import read_spec
from harness.presets import apply_preset
from harness.secrets import ConnParams

__all__ = ["BACKENDS", "DEFAULT_DOCKER_IMAGE", "MIGRATION_TOOLS", "AnonymousSpec", "BindingSpec",
           "DatabaseSpec", "MembershipSpec", "RootOwnerSpec", "ScopedThrough", "TargetSpec", "load_target"]

BACKENDS = ("embedded", "system", "docker", "dsn")
DEFAULT_DOCKER_IMAGE = "pgvector/pgvector:pg17"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# a custom setting: at least two dotted parts (request.jwt.claim.sub is as valid as app.workspace_id)
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RELATION = re.compile(r"^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")
MIGRATION_TOOLS = ("alembic", "sql")
_ASGI_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# the spec's top-level keys (``preset:`` is resolved before these are checked)
_FIELDS = {"name", "database", "migrations", "app_role", "tenant_setting", "adapter", "api",
           "tenancy", "unsupported", "standards", "binding", "membership", "suites",
           "harness_suites", "anonymous", "requires_extensions"}
# a reason a draft left for the user to write (harness init): never accepted as a reason
_TODO = re.compile(r"^\s*TODO\b", re.IGNORECASE)


@dataclass(frozen=True)
class DatabaseSpec:
    backend: str = "embedded"      # embedded | system | docker | dsn
    image: str = DEFAULT_DOCKER_IMAGE
    dsn: ConnParams | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MigrationsSpec:
    # alembic: the folder holding env.py; sql: the folder of ordered .sql files
    script_location: Path
    tool: str = "alembic"
    # extra version folders: Alembic version directories on top of <script_location>/versions,
    # or more .sql files merged into the order (e.g. a known-bad variant stacked on a target)
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
class RootOwnerSpec:
    """The root table's column that names the principal owning a tenant (e.g. its first owner)."""

    column: str
    value: str = "{user_id}"     # what that column holds for a principal, from its placeholders


@dataclass(frozen=True)
class ScopedThrough:
    """A child table with no tenant column, scoped through its parent (``order_items`` through
    ``orders``): its ``column`` references the parent, which carries the tenant."""

    parent: str
    column: str | None = None    # the child's foreign-key column to the parent; None: the only one


@dataclass(frozen=True)
class TenancySpec:
    """How tenant tables are recognised, and the tables that are global on purpose."""

    column: str = "workspace_id"
    schemas: tuple[str, ...] = ("public",)
    global_tables: dict[str, str] = field(default_factory=dict)
    security_definer_allowlist: dict[str, str] = field(default_factory=dict)
    # the tenant table itself ("workspaces", "core.accounts"), keyed by its primary key; None:
    # the table whose primary key is the tenant column, if there is one
    root: str | None = None
    root_owner: RootOwnerSpec | None = None
    # table -> {command: where the product does it instead}: commands the product never runs
    # directly on that table (memberships written through functions, invitations, triggers);
    # their positive controls are not demanded, their negative probes still run
    write_paths: dict[str, dict[str, str]] = field(default_factory=dict)
    # SQLSTATE -> why: errors besides 42501 by which the product refuses a change (P0001 from a
    # trigger's RAISE EXCEPTION); a refusal counts only when nothing changed
    refusals: dict[str, str] = field(default_factory=dict)

    def not_written_directly(self, table: str, command: str) -> str | None:
        """Where ``command`` on ``table`` (``schema.name``) happens instead, if not directly."""
        bare = table.split(".", 1)[-1]
        paths = self.write_paths.get(table) or self.write_paths.get(bare) or {}
        return paths.get(command)
    # child tables scoped through a parent that carries the tenant: table -> its parent
    scoped_through: dict[str, ScopedThrough] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingSpec:
    """How one transaction acts for one principal: an optional ``SET LOCAL ROLE`` and settings.

    Each setting's value is a template whose ``{placeholders}`` are filled from the principal
    (``{tenant_id}``, ``{user_id}``, ...); everything is transaction-local.
    """

    settings: dict[str, str]
    role: str | None = None

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(name for value in self.settings.values() for name in _PLACEHOLDER.findall(value))

    def extended(self, settings: dict[str, str]) -> BindingSpec:
        """This binding plus more settings (e.g. the acting person's id for identity checks)."""
        return BindingSpec(settings={**self.settings, **settings}, role=self.role)

    @staticmethod
    def for_setting(setting: str) -> BindingSpec:
        """The default: one setting bound to the tenant id."""
        return BindingSpec(settings={setting: "{tenant_id}"})


@dataclass(frozen=True)
class AnonymousSpec:
    """The caller with no principal: how an unauthenticated request reaches the database."""

    role: str | None = None            # e.g. anon (PostgREST); None: the binding's role
    settings: dict[str, str] = field(default_factory=dict)   # fixed values, no placeholders


@dataclass(frozen=True)
class MembershipSpec:
    """The product's membership role model, from which the role matrix is generated."""

    roles: tuple[str, ...] = ("owner", "admin", "member", "viewer")
    owner_role: str = "owner"          # the role a tenant may never run out of
    # actor role -> the roles it may grant, change or remove
    manages: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "owner": ("owner", "admin", "member", "viewer"), "admin": ("admin", "member", "viewer"),
        "member": (), "viewer": ()})
    # the roles that may add members (None: a role may add exactly the roles it manages)
    invites: tuple[str, ...] | None = None
    # the roles that may leave by themselves (None: every role but the owner role)
    may_leave: tuple[str, ...] | None = None
    # a primary owner distinct from the other owners: only it acts on owners, and no one else
    # may demote or remove it
    primary_owner: bool = False
    # where memberships live, so a principal's tenants can be read (None: one tenant each)
    table: str | None = None
    user_column: str = "user_id"
    tenant_column: str | None = None   # None: tenancy.column
    user_value: str = "{user_id}"      # the principal's value the user column holds

    def may_add(self, actor: str, role: str) -> bool:
        if self.invites is not None and actor not in self.invites:
            return False
        return role in self.manages.get(actor, ())

    def leaves(self, role: str) -> bool:
        return role in self.may_leave if self.may_leave is not None else role != self.owner_role


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
    # how a transaction acts for a principal; None: the default, tenant_setting = {tenant_id}
    binding: BindingSpec | None = None
    membership: MembershipSpec = field(default_factory=MembershipSpec)
    # the caller with no principal; None: the binding's role with nothing set
    anonymous: AnonymousSpec | None = None
    # folders of the user's own evidence-marked tests, run by `harness gate` with the harness's
    suites: tuple[Path, ...] = ()
    harness_suites: bool = True      # False: `harness gate` runs only the folders in suites
    extends: tuple[Path, ...] = ()   # the spec files this one extends (extends:), nearest first
    # extensions the migrations CREATE: a backend that lacks one is refused before any suite runs
    requires_extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.binding is None:  # frozen: filled once, so every reader sees one binding
            object.__setattr__(self, "binding", BindingSpec.for_setting(self.tenant_setting))

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
            db = replace(db, dsn=ConnParams.from_dsn(dsn, where="HARNESS_DSN (environment)"))
        return replace(self, database=db)

    def load_adapter_class(self) -> type:
        return _import_object(str(self.path), "adapter", self.adapter or "", self.root)


def load_target(path: str | os.PathLike[str], *, backend: str | None = None) -> TargetSpec:
    """Reads and validates a target spec. ``backend`` (or ``HARNESS_BACKEND``) overrides the file."""
    spec_path = Path(path).resolve()
    where = str(path)
    raw, extended = read_spec(spec_path, where, _expand)   # extends: resolved, ${VAR}s filled
    if not isinstance(raw, dict):
        raise ConfigError(where, "", "must be a mapping of fields", "see target.yaml for the shape")
    raw = apply_preset(where, raw, _FIELDS)  # preset: supabase -> its keys, under the spec's own
    _reject_unknown(where, "", raw, _FIELDS)

    name = _text(where, "name", raw.get("name"), required=True)
    database = _database(where, raw.get("database") or {})
    migrations = _migrations(where, spec_path.parent, raw.get("migrations"))
    if raw.get("app_role") is None:
        raise ConfigError(where, "app_role", "is missing",
                          "name the login role scenarios act as, e.g. app_role: app_user")
    app_role = _text(where, "app_role", raw["app_role"])
    if not _IDENT.match(app_role):
        raise ConfigError(where, "app_role", f"{app_role!r} is not a plain role name",
                          "use lower-case letters, digits and underscores")
    binding = _binding(where, raw.get("binding"))
    default_setting = "app.workspace_id" if binding is None else _tenant_setting_of(binding)
    tenant_setting = _text(where, "tenant_setting", raw.get("tenant_setting", default_setting))
    if not _SETTING.match(tenant_setting):
        raise ConfigError(where, "tenant_setting", f"{tenant_setting!r} is not a custom setting name",
                          "use a dotted name such as app.workspace_id or request.jwt.claim.sub")
    adapter = raw.get("adapter")
    if adapter is not None:
        _import_object(where, "adapter", _text(where, "adapter", adapter), spec_path.parent)
    spec = TargetSpec(
        name=name, path=spec_path, database=database, migrations=migrations, app_role=app_role,
        tenant_setting=tenant_setting, adapter=adapter, api=_api(where, raw.get("api") or {}, spec_path.parent),
        tenancy=_tenancy(where, raw.get("tenancy") or {}),
        unsupported=_unsupported(where, raw.get("unsupported", {})),
        standards=_standards(where, spec_path.parent, raw.get("standards") or {}),
        binding=binding, membership=_membership(where, raw.get("membership")),
        anonymous=_anonymous(where, raw.get("anonymous")),
        suites=_suites(where, spec_path.parent, raw.get("suites", [])),
        harness_suites=_flag(where, "harness_suites", raw.get("harness_suites", True)),
        extends=extended,
        requires_extensions=_names(where, "requires_extensions", raw.get("requires_extensions", [])),
    )
    env_backend = os.environ.get("HARNESS_BACKEND") or None
    if backend is None and env_backend is not None and env_backend not in BACKENDS:
        raise ConfigError("HARNESS_BACKEND (environment variable)", "", f"{env_backend!r} is not one "
                          f"of {', '.join(BACKENDS)}", f"unset HARNESS_BACKEND or set it to one of {', '.join(BACKENDS)}")
    # requires_extensions is checked where a server is used (harness.backends.require_extensions)
    return spec.with_backend(backend or env_backend, os.environ.get("HARNESS_DOCKER_IMAGE") or None)


def _names(where: str, fld: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        raise ConfigError(where, fld, "must be a list of extension names", "e.g. [pgcrypto, vector]")
    return tuple(raw)


def _database(where: str, raw: Any) -> DatabaseSpec:
    _mapping(where, "database", raw)
    _reject_unknown(where, "database", raw, {"backend", "image", "dsn"})
    backend = _text(where, "database.backend", raw.get("backend", "embedded"))
    _check_choice(where, "database.backend", backend, BACKENDS)
    image = _text(where, "database.image", raw.get("image", DEFAULT_DOCKER_IMAGE))
    dsn_text = raw.get("dsn")
    dsn = None
    if dsn_text is not None:
        dsn = ConnParams.from_dsn(_text(where, "database.dsn", dsn_text), where=where,
                                  field="database.dsn")
    if backend == "dsn" and dsn is None and not os.environ.get("HARNESS_DSN"):
        raise ConfigError(where, "database.dsn", "backend 'dsn' needs a DSN",
                          "set database.dsn: ${HARNESS_DSN} and export HARNESS_DSN")
    return DatabaseSpec(backend=backend, image=image, dsn=dsn)


def _migrations(where: str, root: Path, raw: Any) -> MigrationsSpec:
    if raw is None:
        raise ConfigError(where, "migrations", "is missing",
                          "add migrations: {tool: alembic, script_location: path/to/migrations}")
    _mapping(where, "migrations", raw)
    _reject_unknown(where, "migrations", raw, {"tool", "script_location", "location",
                                               "version_locations", "metadata"})
    tool = _text(where, "migrations.tool", raw.get("tool", "alembic"))
    _check_choice(where, "migrations.tool", tool, MIGRATION_TOOLS)
    fld = "migrations.location" if "location" in raw else "migrations.script_location"
    if "location" in raw and "script_location" in raw:
        raise ConfigError(where, "migrations", "sets both location and script_location",
                          "keep one of them (they mean the same folder)")
    location = raw.get("location", raw.get("script_location"))
    if not location:
        hint = ("name the folder of .sql files, e.g. supabase/migrations" if tool == "sql"
                else "name the Alembic script directory, e.g. reference_impl/migrations")
        raise ConfigError(where, fld, "is missing", hint)
    path = (root / _text(where, fld, location)).resolve()
    if tool == "alembic" and not (path / "env.py").is_file():
        raise ConfigError(where, fld, f"{location!r} has no env.py (looked in {path})",
                          "point it at the folder holding Alembic's env.py")
    metadata = raw.get("metadata")
    if metadata is not None and ":" not in _text(where, "migrations.metadata", metadata):
        raise ConfigError(where, "migrations.metadata", f"{metadata!r} is not an import path",
                          "write it as package.module:metadata")
    if tool == "sql" and not (path.is_dir() and any(path.glob("*.sql"))):
        raise ConfigError(where, fld, f"{location!r} is not a folder of .sql files (looked in {path})",
                          "point it at the folder holding the migration files, e.g. 0001_init.sql")
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
                              "name a folder of revision files (Alembic or .sql), relative to the spec")
        if os.pathsep in str(path):
            raise ConfigError(where, f"{fld}[{i}]", f"{path} contains {os.pathsep!r}",
                              "move the folder to a path without it")
        paths.append(path)
    return tuple(paths)


def _api(where: str, raw: Any, root: Path) -> ApiSpec:
    """``asgi`` must import (uvicorn is given it as ``package.module:attr``, so no file paths),
    ``base_url`` must be an http(s) URL: a spec that cannot work is refused here, not by a suite."""
    _mapping(where, "api", raw)
    _reject_unknown(where, "api", raw, {"asgi", "base_url"})
    asgi, base_url = raw.get("asgi"), raw.get("base_url")
    if asgi is not None and base_url is not None:
        raise ConfigError(where, "api", "sets both asgi and base_url", "keep exactly one of them")
    if asgi is not None:
        if not isinstance(asgi, str) or not _ASGI_REF.fullmatch(asgi):
            raise ConfigError(where, "api.asgi", f"{asgi!r} is not an ASGI app reference",
                              "write it as package.module:app (what uvicorn is given)")
        if not callable(_import_object(where, "api.asgi", asgi, root)):
            raise ConfigError(where, "api.asgi", f"{asgi!r} names something that is not an ASGI app "
                              "(not callable)", "name the application object, e.g. package.api:app")
    if base_url is not None:
        _check_url(where, "api.base_url", base_url)
    return ApiSpec(asgi=asgi, base_url=base_url)


def _check_url(where: str, fld: str, value: Any) -> None:
    fix = "write it as http://host:port or https://host/prefix"
    if not isinstance(value, str):
        raise ConfigError(where, fld, f"must be a URL, got {value!r}", fix)
    try:
        url = urllib.parse.urlsplit(value)
        port_ok = url.port is None or url.port > 0
    except ValueError as exc:
        raise ConfigError(where, fld, f"{value!r} is not a URL ({exc})", fix) from None
    if url.scheme not in ("http", "https") or not url.hostname or not port_ok:
        raise ConfigError(where, fld, f"{value!r} is not an http(s) URL with a host", fix)


def _tenancy(where: str, raw: Any) -> TenancySpec:
    _mapping(where, "tenancy", raw)
    _reject_unknown(where, "tenancy", raw, {"column", "schemas", "global_tables",
                                            "security_definer_allowlist", "root", "root_owner",
                                            "write_paths", "refusals", "scoped_through"})
    column = _text(where, "tenancy.column", raw.get("column", "workspace_id"))
    if not _IDENT.match(column):
        raise ConfigError(where, "tenancy.column", f"{column!r} is not a plain column name",
                          "use lower-case letters, digits and underscores, e.g. account_id")
    schemas = raw.get("schemas", ["public"])
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas) or not schemas:
        raise ConfigError(where, "tenancy.schemas", "must be a non-empty list of schema names",
                          "e.g. schemas: [public]")
    root = raw.get("root")
    if root is not None and not _RELATION.match(_text(where, "tenancy.root", root)):
        raise ConfigError(where, "tenancy.root", f"{root!r} is not a table name",
                          "name the tenant table, e.g. accounts or core.accounts")
    owner = raw.get("root_owner")
    root_owner = None
    if owner is not None:
        _mapping(where, "tenancy.root_owner", owner)
        _reject_unknown(where, "tenancy.root_owner", owner, {"column", "value"})
        owner_column = _text(where, "tenancy.root_owner.column", owner.get("column"), required=True)
        value = _text(where, "tenancy.root_owner.value", owner.get("value", "{user_id}"))
        if not _PLACEHOLDER.search(value):
            raise ConfigError(where, "tenancy.root_owner.value", f"{value!r} names no placeholder",
                              'write the principal value it holds, e.g. "{user_id}"')
        root_owner = RootOwnerSpec(owner_column, value)
    return TenancySpec(
        column=column, schemas=tuple(schemas),
        global_tables=_reasons(where, "tenancy.global_tables", raw.get("global_tables", {})),
        security_definer_allowlist=_reasons(where, "tenancy.security_definer_allowlist",
                                            raw.get("security_definer_allowlist", {})),
        root=root, root_owner=root_owner,
        write_paths=_write_paths(where, raw.get("write_paths", {})),
        refusals=_refusals(where, raw.get("refusals", {})),
        scoped_through=_scoped_through(where, raw.get("scoped_through", {})),
    )


_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")


def _write_paths(where: str, raw: Any) -> dict[str, dict[str, str]]:
    fld = "tenancy.write_paths"
    _mapping(where, fld, raw)
    paths: dict[str, dict[str, str]] = {}
    for table, commands in raw.items():
        if not isinstance(table, str) or not _RELATION.match(table):
            raise ConfigError(where, f"{fld}.{table}", "is not a table name",
                              "name the table, e.g. basejump.account_user")
        _mapping(where, f"{fld}.{table}", commands)
        for command in commands:
            if str(command).upper() not in _COMMANDS[1:]:
                raise ConfigError(where, f"{fld}.{table}.{command}", "is not INSERT, UPDATE or DELETE",
                                  "map each command the product never runs directly to where it "
                                  "happens instead, e.g. INSERT: public.accept_invitation()")
        paths[table] = {str(c).upper(): r for c, r in _reasons(where, f"{fld}.{table}", commands).items()}
    return paths


def _refusals(where: str, raw: Any) -> dict[str, str]:
    reasons = _reasons(where, "tenancy.refusals", raw)
    for state in reasons:
        if not _SQLSTATE.match(state):
            raise ConfigError(where, f"tenancy.refusals.{state}", "is not a SQLSTATE",
                              "write the five-character code the product raises, e.g. P0001")
    return reasons


def _anonymous(where: str, raw: Any) -> AnonymousSpec | None:
    if raw is None:
        return None
    _mapping(where, "anonymous", raw)
    _reject_unknown(where, "anonymous", raw, {"role", "settings"})
    role = raw.get("role")
    if role is not None and not _IDENT.match(_text(where, "anonymous.role", role)):
        raise ConfigError(where, "anonymous.role", f"{role!r} is not a plain role name",
                          "name the role an unauthenticated request runs as, e.g. anon")
    settings = raw.get("settings", {})
    _mapping(where, "anonymous.settings", settings)
    for name, value in settings.items():
        fld = f"anonymous.settings.{name}"
        if not isinstance(name, str) or not _SETTING.match(name):
            raise ConfigError(where, fld, f"{name!r} is not a custom setting name",
                              "use a dotted name such as request.jwt.claims")
        if _PLACEHOLDER.search(_text(where, fld, value)):
            raise ConfigError(where, fld, "names a placeholder, but no principal is bound",
                              "give the fixed value an unauthenticated request carries")
    return AnonymousSpec(role=role, settings={str(k): str(v) for k, v in settings.items()})


def _scoped_through(where: str, raw: Any) -> dict[str, ScopedThrough]:
    """``{order_items: orders}`` or ``{order_items: {parent: orders, column: order_id}}``."""
    fld = "tenancy.scoped_through"
    _mapping(where, fld, raw)
    found = {}
    for table, rule in raw.items():
        if isinstance(rule, str):
            rule = {"parent": rule}
        _mapping(where, f"{fld}.{table}", rule)
        _reject_unknown(where, f"{fld}.{table}", rule, {"parent", "column"})
        parent = _text(where, f"{fld}.{table}.parent", rule.get("parent"), required=True)
        column = rule.get("column")
        for name, value in ((f"{fld}.{table}", str(table)), (f"{fld}.{table}.parent", parent)):
            if not _RELATION.match(value):
                raise ConfigError(where, name, f"{value!r} is not a table name",
                                  "name it as orders or core.orders")
        if column is not None and not _IDENT.match(_text(where, f"{fld}.{table}.column", column)):
            raise ConfigError(where, f"{fld}.{table}.column", f"{column!r} is not a column name",
                              "name the child's foreign-key column, e.g. order_id")
        found[str(table)] = ScopedThrough(parent, column)
    return found


def _binding(where: str, raw: Any) -> BindingSpec | None:
    if raw is None:
        return None
    _mapping(where, "binding", raw)
    _reject_unknown(where, "binding", raw, {"role", "settings"})
    role = raw.get("role")
    if role is not None and not _IDENT.match(_text(where, "binding.role", role)):
        raise ConfigError(where, "binding.role", f"{role!r} is not a plain role name",
                          "name the role to SET LOCAL ROLE to, e.g. authenticated")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict) or (not settings and role is None):
        raise ConfigError(where, "binding.settings", "must map setting names to values",
                          'e.g. settings: {request.jwt.claim.sub: "{user_id}"}')
    for name, value in settings.items():
        fld = f"binding.settings.{name}"
        if not isinstance(name, str) or not _SETTING.match(name):
            raise ConfigError(where, fld, f"{name!r} is not a custom setting name",
                              "use a dotted name such as request.jwt.claims")
        _text(where, fld, value)
    if not settings:
        raise ConfigError(where, "binding.settings", "binds no setting: no principal is ever bound",
                          'add at least one, e.g. app.workspace_id: "{tenant_id}"')
    return BindingSpec(settings={str(k): str(v) for k, v in settings.items()}, role=role)


def _flag(where: str, fld: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(where, fld, f"must be true or false, got {raw!r}", f"write {fld}: false")
    return raw


def _suites(where: str, root: Path, raw: Any) -> tuple[Path, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise ConfigError(where, "suites", "must be a list of folders",
                          "e.g. suites: [tests/evidence], relative to the spec")
    paths = []
    for i, entry in enumerate(raw):
        path = (root / entry).resolve()
        if not path.is_dir():
            raise ConfigError(where, f"suites[{i}]", f"{entry!r} is not a folder (looked in {path})",
                              "name a folder of your evidence-marked tests, relative to the spec")
        paths.append(path)
    return tuple(paths)


def _tenant_setting_of(binding: BindingSpec) -> str:
    """The setting carrying the tenant id (for callers binding a bare workspace id)."""
    exact = [name for name, value in binding.settings.items() if value == "{tenant_id}"]
    return (exact or list(binding.settings))[0]


def _membership(where: str, raw: Any) -> MembershipSpec:
    if raw is None:
        return MembershipSpec()
    _mapping(where, "membership", raw)
    _reject_unknown(where, "membership", raw, {"roles", "owner_role", "manages", "invites",
                                               "may_leave", "primary_owner", "table",
                                               "user_column", "tenant_column", "user_value"})
    roles = raw.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
        raise ConfigError(where, "membership.roles", "must be a non-empty list of role names",
                          "e.g. roles: [owner, member]")
    owner = _text(where, "membership.owner_role", raw.get("owner_role", roles[0]))
    if owner not in roles:
        raise ConfigError(where, "membership.owner_role", f"{owner!r} is not in membership.roles",
                          f"use one of {', '.join(roles)}")
    manages = raw.get("manages", {})
    _mapping(where, "membership.manages", manages)
    result: dict[str, tuple[str, ...]] = {}
    for role in roles:
        managed = manages.get(role, [])
        if not isinstance(managed, list) or any(m not in roles for m in managed):
            raise ConfigError(where, f"membership.manages.{role}",
                              "must list roles from membership.roles",
                              f"e.g. {role}: [{roles[-1]}], or [] for none")
        result[role] = tuple(managed)
    unknown = set(manages) - set(roles)
    if unknown:
        raise ConfigError(where, f"membership.manages.{sorted(unknown)[0]}", "is not a role",
                          f"use one of {', '.join(roles)}")
    lists = {}
    for fld in ("invites", "may_leave"):
        value = raw.get(fld)
        if value is not None and (not isinstance(value, list) or any(r not in roles for r in value)):
            raise ConfigError(where, f"membership.{fld}", "must list roles from membership.roles",
                              f"e.g. {fld}: [{roles[0]}], or [] for none")
        lists[fld] = None if value is None else tuple(value)
    table = raw.get("table")
    if table is not None and not _RELATION.match(_text(where, "membership.table", table)):
        raise ConfigError(where, "membership.table", f"{table!r} is not a table name",
                          "name the membership table, e.g. basejump.account_user")
    columns = {}
    for fld, default in (("user_column", "user_id"), ("tenant_column", None)):
        value = raw.get(fld, default)
        if value is not None and not _IDENT.match(_text(where, f"membership.{fld}", value)):
            raise ConfigError(where, f"membership.{fld}", f"{value!r} is not a plain column name",
                              "use lower-case letters, digits and underscores")
        columns[fld] = value
    user_value = _text(where, "membership.user_value", raw.get("user_value", "{user_id}"))
    if not _PLACEHOLDER.search(user_value):
        raise ConfigError(where, "membership.user_value", f"{user_value!r} names no placeholder",
                          'write the principal value the user column holds, e.g. "{user_id}"')
    return MembershipSpec(roles=tuple(roles), owner_role=owner, manages=result,
                          primary_owner=_flag(where, "membership.primary_owner",
                                              raw.get("primary_owner", False)),
                          table=table, user_value=user_value, **lists, **columns)


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
        if _TODO.match(reason):
            raise ConfigError(where, f"{fld}.{name}", f"still says {reason.strip()!r}",
                              "replace the TODO with the reason, or remove the entry")
    return {str(k): str(v) for k, v in raw.items()}


def _unsupported(where: str, raw: Any) -> dict[str, str]:
    """Capabilities the target lacks, each a name some family declares (aliases: current names)."""
    from harness.families import canonical_capability  # the families import this module

    return {canonical_capability(name, where, f"unsupported.{name}"): reason
            for name, reason in _reasons(where, "unsupported", raw).items()}


def _import_object(where: str, fld: str, ref: str, root: Path) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(where, fld, f"{ref!r} is not an import path",
                          "write it as package.module:ClassName or path/to/file.py:ClassName")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        if module_name.endswith(".py"):  # a file next to the spec: a target outside any package
            module = _import_file((root / module_name).resolve())
        else:
            module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # sys.exit() on import must not pass for success
        raise ConfigError(where, fld, f"module {module_name!r} does not import ({type(exc).__name__}: {exc})",
                          "check the module path and that the package is installed") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(where, fld, f"module {module_name!r} has no {attr!r}",
                          "name a class defined in that module") from None


def _import_file(path: Path) -> Any:
    """The module in ``path``, imported once under a name derived from its location."""
    name = "harness_target_" + re.sub(r"\W", "_", str(path.with_suffix("")))[-80:]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"no file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


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
