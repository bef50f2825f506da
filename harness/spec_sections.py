"""Each section of a target spec, from raw YAML to its dataclass (:mod:`harness.spec_model`):
what each key may hold, relative paths resolved next to the spec, and one
:class:`~harness.errors.ConfigError` naming the file, the field and the fix for anything else.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.secrets import ConnParams
from harness.spec_fields import (
    _check_choice,
    _flag,
    _import_object,
    _mapping,
    _reasons,
    _reject_unknown,
    _text,
)
from harness.spec_model import (
    _ASGI_REF,
    _IDENT,
    _PLACEHOLDER,
    _RELATION,
    _SETTING,
    BACKENDS,
    DEFAULT_DOCKER_IMAGE,
    MIGRATION_TOOLS,
    AnonymousSpec,
    ApiSpec,
    BindingSpec,
    DatabaseSpec,
    IdentityTable,
    MembershipSpec,
    MigrationsSpec,
    RootOwnerSpec,
    ScopedThrough,
    StandardsSpec,
    TenancySpec,
)


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
                                               "version_locations", "platform", "metadata"})
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
    # the platform's own objects (a preset's stub) run first; a spec's version_locations add to
    # them rather than replace them, and `platform: []` drops them (a project with its own stub)
    platform = _version_locations(where, root, raw.get("platform", []), "migrations.platform")
    own = _version_locations(where, root, raw.get("version_locations", []))
    return MigrationsSpec(script_location=path, tool=tool, version_locations=platform + own,
                          metadata=metadata)


def _version_locations(where: str, root: Path, raw: Any,
                       fld: str = "migrations.version_locations") -> tuple[Path, ...]:
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


def _api(where: str, raw: Any, root: Path, check_imports: bool = True) -> ApiSpec:
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
        if check_imports and not callable(_import_object(where, "api.asgi", asgi, root)):
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


def _role_and_settings(where: str, fld: str, raw: Any, role_fix: str) -> tuple[str | None, dict]:
    """The shape ``binding:`` and ``anonymous:`` share: an optional plain role to SET ROLE to and
    custom settings (dotted names) mapped to text. Each caller adds its own rule on top."""
    _mapping(where, fld, raw)
    _reject_unknown(where, fld, raw, {"role", "settings"})
    role = raw.get("role")
    if role is not None and not _IDENT.match(_text(where, f"{fld}.role", role)):
        raise ConfigError(where, f"{fld}.role", f"{role!r} is not a plain role name", role_fix)
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(where, f"{fld}.settings", "must map setting names to values",
                          'e.g. settings: {request.jwt.claim.sub: "{user_id}"}')
    for name, value in settings.items():
        if not isinstance(name, str) or not _SETTING.match(name):
            raise ConfigError(where, f"{fld}.settings.{name}", f"{name!r} is not a custom setting name",
                              "use a dotted name such as request.jwt.claims")
        _text(where, f"{fld}.settings.{name}", value)
    return role, settings


def _anonymous(where: str, raw: Any) -> AnonymousSpec | None:
    if raw is None:
        return None
    role, settings = _role_and_settings(where, "anonymous", raw,
                                        "name the role an unauthenticated request runs as, e.g. anon")
    for name, value in settings.items():
        if _PLACEHOLDER.search(str(value)):
            raise ConfigError(where, f"anonymous.settings.{name}", "names a placeholder, but no principal is bound",
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
    role, settings = _role_and_settings(where, "binding", raw,
                                        "name the role to SET LOCAL ROLE to, e.g. authenticated")
    if not settings:
        raise ConfigError(where, "binding.settings", "binds no setting: no principal is ever bound",
                          'add at least one, e.g. app.workspace_id: "{tenant_id}"')
    return BindingSpec(settings={str(k): str(v) for k, v in settings.items()}, role=role)


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


def _data_dir(where: str, root: Path, raw: Any) -> Path | None:
    if raw is None:
        return None
    folder = (root / _text(where, "data_dir", raw)).resolve()
    if not folder.is_dir():
        raise ConfigError(where, "data_dir", f"{raw!r} is not a folder (looked for {folder})",
                          "create it (the layout of harness/data: replay/..., loadtests/...), fix "
                          "the path (relative to this file), or remove data_dir")
    return folder
