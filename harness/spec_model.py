"""The target spec's typed shape: frozen dataclasses, one per section (database, migrations, API,
tenancy, binding, anonymous caller, membership, standards), and :class:`TargetSpec` holding them.
Built only by :func:`harness.target.load_target`; everything inside the harness reads these.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.secrets import ConnParams
from harness.spec_fields import _check_choice, _import_object

__all__ = ["BACKENDS", "DEFAULT_DOCKER_IMAGE", "MIGRATION_TOOLS", "AnonymousSpec", "ApiSpec", "BindingSpec",
           "DatabaseSpec", "IdentityTable", "MembershipSpec", "MigrationsSpec", "RootOwnerSpec",
           "ScopedThrough", "StandardsSpec", "TargetSpec", "TenancySpec"]

BACKENDS = ("embedded", "system", "docker", "dsn")
DEFAULT_DOCKER_IMAGE = "pgvector/pgvector:pg17"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# a custom setting: at least two dotted parts (request.jwt.claim.sub is as valid as app.workspace_id)
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RELATION = re.compile(r"^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")
MIGRATION_TOOLS = ("alembic", "sql")
_ASGI_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


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
    # the user's own suite data (harness.data's layout: replay/..., loadtests/...), file by file
    # over the packaged data; HARNESS_DATA_DIR, set for one run, wins over it
    data_dir: Path | None = None

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
