"""The target spec: which system is under test and how to reach it.

A YAML file (``target.yaml`` for the reference implementation) is read once and validated into
frozen dataclasses. Every problem becomes a :class:`~harness.errors.ConfigError` naming the file,
the field and what is allowed. ``${VAR}`` references are expanded from the environment; a
missing variable is an error, never an empty string. The DSN is kept as
:class:`~harness.secrets.ConnParams` so that it cannot be printed by accident.

It is read in three parts, each its own module: :mod:`harness.spec_fields` (the small checks
every field uses), :mod:`harness.spec_sections` (each section into its dataclass) and
:mod:`harness.spec_model` (the dataclasses). This module reads the file (``extends:`` and
``preset:`` resolved first), refuses every TODO a draft left in one line, and assembles the
:class:`TargetSpec`; every name importable from ``harness.target`` before stays importable here.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness import spec_model
from harness.errors import ConfigError
from harness.extends import read_spec
from harness.presets import apply_preset
from harness.spec_fields import (
    _expand,
    _flag,
    _import_object,
    _names,
    _refuse_todos,
    _reject_unknown,
    _text,
    _unsupported,
)
from harness.spec_model import *  # noqa: F403  (the spec's dataclasses are this module's names too)
from harness.spec_model import _IDENT, _SETTING, BACKENDS, TargetSpec
from harness.spec_sections import (
    _anonymous,
    _api,
    _binding,
    _data_dir,
    _database,
    _membership,
    _migrations,
    _standards,
    _suites,
    _tenancy,
    _tenant_setting_of,
)

__all__ = [*spec_model.__all__, "load_target"]

# the spec's top-level keys (``preset:`` is resolved before these are checked)
_FIELDS = {"name", "database", "migrations", "app_role", "tenant_setting", "adapter", "api",
           "tenancy", "unsupported", "standards", "binding", "membership", "suites",
           "harness_suites", "anonymous", "requires_extensions", "data_dir"}


def load_target(path: str | os.PathLike[str], *, backend: str | None = None,
                check_imports: bool = True) -> TargetSpec:
    """Reads and validates a target spec. ``backend`` (or ``HARNESS_BACKEND``) overrides the file.

    ``check_imports``: the adapter and ``api.asgi`` are imported to prove they work (what
    ``harness gate`` does before any suite runs). The pytest plugin passes False: importing a
    target's adapter (and with it a web framework) costs a process about a second, and most
    processes never call it; :meth:`TargetSpec.load_adapter_class` imports it when used, with
    the same one-line error."""
    spec_path = Path(path).resolve()
    where = str(path)
    raw, extended = read_spec(spec_path, where, _expand)   # extends: resolved, ${VAR}s filled
    if not isinstance(raw, dict):
        raise ConfigError(where, "", "must be a mapping of fields", "see target.yaml for the shape")
    raw = apply_preset(where, raw, _FIELDS)  # preset: supabase -> its keys, under the spec's own
    _reject_unknown(where, "", raw, _FIELDS)
    _refuse_todos(where, raw)

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
        _text(where, "adapter", adapter)
        if check_imports:
            _import_object(where, "adapter", adapter, spec_path.parent)
    spec = TargetSpec(
        name=name, path=spec_path, database=database, migrations=migrations, app_role=app_role,
        tenant_setting=tenant_setting, adapter=adapter, api=_api(where, raw.get("api") or {}, spec_path.parent, check_imports),
        tenancy=_tenancy(where, raw.get("tenancy") or {}),
        unsupported=_unsupported(where, raw.get("unsupported", {})),
        standards=_standards(where, spec_path.parent, raw.get("standards") or {}),
        binding=binding, membership=_membership(where, raw.get("membership")),
        anonymous=_anonymous(where, raw.get("anonymous")),
        suites=_suites(where, spec_path.parent, raw.get("suites", [])),
        harness_suites=_flag(where, "harness_suites", raw.get("harness_suites", True)),
        extends=extended,
        requires_extensions=_names(where, "requires_extensions", raw.get("requires_extensions", [])),
        data_dir=_data_dir(where, spec_path.parent, raw.get("data_dir")),
    )
    env_backend = os.environ.get("HARNESS_BACKEND") or None
    if backend is None and env_backend is not None and env_backend not in BACKENDS:
        raise ConfigError("HARNESS_BACKEND (environment variable)", "", f"{env_backend!r} is not one "
                          f"of {', '.join(BACKENDS)}", f"unset HARNESS_BACKEND or set it to one of {', '.join(BACKENDS)}")
    # requires_extensions is checked where a server is used (harness.backends.require_extensions)
    return spec.with_backend(backend or env_backend, os.environ.get("HARNESS_DOCKER_IMAGE") or None)
