"""``harness init``: a draft spec (and adapter skeleton) from a user's migrations or database.

Reads the catalog (:mod:`.scratch`), guesses the tenancy (:mod:`.guess`), writes the commented
draft next to the migrations (:mod:`.draft`) and, with ``--adapter``, a typed adapter skeleton
(:mod:`.skeleton`); then prints what it found and the decisions left. A spec someone edited is
never replaced without ``--force``. Every problem is a :class:`~harness.errors.ConfigError`
naming the argument or file, the field and the fix.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import ConfigError
from harness.onboarding.draft import FINGERPRINT, digest, is_untouched_draft, render
from harness.onboarding.guess import Draft, guess
from harness.onboarding.protocols import capability_names
from harness.onboarding.schema import Schema
from harness.onboarding.skeleton import render_skeleton, resolve_capabilities
from harness.presets import preset_names
from harness.secrets import ConnParams

__all__ = ["InitRequest", "InitResult", "run_init"]

ADAPTER_FILE = "adapter.py"
# migrations that lean on Supabase's platform objects without creating them
_USES_SUPABASE = re.compile(r"\bauth\.(uid|jwt|users)\b|\bto\s+authenticated\b", re.IGNORECASE)
_CREATES_AUTH = re.compile(r"create\s+schema\s+(if\s+not\s+exists\s+)?auth\b", re.IGNORECASE)


@dataclass(frozen=True)
class InitRequest:
    migrations: Path | None = None
    tool: str = "sql"
    dsn: str | None = None
    preset: str | None = None          # None: guessed; "none": no preset
    adapter: str | None = None         # "events,entitlements"
    out: Path | None = None
    force: bool = False


@dataclass(frozen=True)
class InitResult:
    spec: Path | None
    adapter: Path | None
    draft: Draft | None
    todos: int


def run_init(request: InitRequest, progress: Callable[[str], None] = lambda _: None) -> InitResult:
    protocols = resolve_capabilities(request.adapter) if request.adapter else {}
    if request.migrations is None and request.dsn is None:
        if not protocols:
            raise ConfigError("harness init", "--migrations", "names no migrations folder and no DSN",
                              "pass --migrations supabase/migrations (or --dsn, or --adapter CAPS)")
        out = (request.out or Path("target.yaml")).resolve()
        return InitResult(None, _write_adapter(out.parent, protocols, request.force), None, 0)
    if request.migrations is not None and request.dsn is not None:
        raise ConfigError("harness init", "--dsn", "is given with --migrations",
                          "pass one of them: --migrations FOLDER migrates into a scratch database")
    preset = _preset(request)
    own_stub = False
    if request.migrations is not None:
        folder = _folder(request.migrations, request.tool)
        # a project that keeps its own auth stub needs none from the preset (it would run first)
        # (the stub is a .sql file: an Alembic chain must create the platform's objects itself)
        own_stub = request.tool == "alembic" or _creates_auth(folder)
        out = (request.out or folder.parent / "target.yaml").resolve()
        location = os.path.relpath(folder, out.parent)
        source = f"the migrations in {location}"
    else:
        out = (request.out or Path("target.yaml")).resolve()
        location, source = "TODO_migrations_folder", "a database's catalog (read only)"
    # refused before the seconds of work, not after
    _refuse_edited(out, request.force)
    if protocols:
        _refuse_adapter(out.parent / ADAPTER_FILE, request.force)
    if request.migrations is not None:
        progress(f"harness init: migrating {request.migrations} into a scratch database ...")
        schema = _read_migrations(folder, request.tool, preset, own_stub)
    else:
        from harness.onboarding.scratch import read_dsn

        schema = read_dsn(ConnParams.from_dsn(request.dsn or "", where="--dsn"))
    capabilities = capability_names()
    draft = guess(schema, capabilities, users_table=_users_table(schema, preset))
    if request.preset == "none" or preset is not None:  # else the guess from what policies read
        draft = replace(draft, preset=preset)
    adapter_path = None
    if protocols:
        adapter_path = _write_adapter(out.parent, protocols, request.force)
        draft = replace(draft, no_sign=tuple(c for c in draft.no_sign if c not in protocols),
                        signs={c: s for c, s in draft.signs.items() if c not in protocols})
    text = render(draft, name=_name(out), tool=request.tool, location=location, source=source,
                  own_platform_stub=own_stub)
    if adapter_path is not None:
        text = _with_adapter(text, adapter_path, out.parent)
    out.write_text(text, encoding="utf-8")
    return InitResult(out, adapter_path, draft, text.count("TODO"))


def _preset(request: InitRequest) -> str | None:
    if request.preset is None or request.preset == "none":
        if request.preset is None and request.migrations is not None and request.tool == "sql":
            return _guess_preset(request.migrations)
        return None
    if request.preset not in preset_names():
        raise ConfigError("harness init", "--preset", f"{request.preset!r} is not a preset",
                          f"use one of {', '.join(preset_names())}, or none")
    return request.preset


def _sql_texts(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.sql"))]


def _guess_preset(folder: Path) -> str | None:
    """``supabase`` when the migrations use auth.uid(), auth.users or the authenticated role."""
    return "supabase" if any(_USES_SUPABASE.search(t) for t in _sql_texts(folder)) else None


def _creates_auth(folder: Path) -> bool:
    return any(_CREATES_AUTH.search(t) for t in _sql_texts(folder))


def _name(out: Path) -> str:
    """The project's name: the spec's folder, or its parent for supabase/target.yaml."""
    folder = out.parent
    if folder.name in ("supabase", "db", "database") and folder.parent.name:
        folder = folder.parent
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name) or "my-product"


def _folder(path: Path, tool: str) -> Path:
    folder = path.resolve()
    if tool == "sql" and not (folder.is_dir() and any(folder.glob("*.sql"))):
        raise ConfigError("--migrations", "", f"{path} is not a folder of .sql files",
                          "name the folder holding <timestamp>_<name>.sql or V<n>__<name>.sql files")
    if tool == "alembic" and not (folder / "env.py").is_file():
        raise ConfigError("--migrations", "", f"{path} has no env.py",
                          "name Alembic's script directory (the folder holding env.py)")
    return folder


def _read_migrations(folder: Path, tool: str, preset: str | None, own_stub: bool) -> Schema:
    """Migrates a scratch database with the same loader and tool ``harness gate`` will use."""
    from harness.onboarding.scratch import read_migrated
    from harness.target import load_target

    extra = ", platform: []" if own_stub else ""
    lines = ["name: harness-init-scratch", "database: {backend: embedded}",
             f"migrations: {{tool: {tool}, location: {_yaml_path(folder)}{extra}}}",
             "app_role: app_user"]
    if preset:
        lines.append(f"preset: {preset}")
    with tempfile.TemporaryDirectory(prefix="harness-init-spec-") as tmp:
        spec_file = Path(tmp) / "target.yaml"
        spec_file.write_text("\n".join(lines) + "\n")
        spec = load_target(spec_file, backend="embedded")
        return read_migrated(spec)


def _yaml_path(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _users_table(schema: Schema, preset: str | None) -> str | None:
    refs = {fk.ref_table for t in schema.tables for fk in t.foreign_keys}
    return "auth.users" if preset == "supabase" or "auth.users" in refs else None


def _refuse_edited(path: Path, force: bool) -> None:
    if path.exists() and not force and not is_untouched_draft(path):
        raise ConfigError(str(path), "", "exists and is not an untouched draft of harness init "
                          "(someone edited or wrote it)", "pass --force to replace it, or --out "
                          "another file")


def _refuse_adapter(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ConfigError(str(path), "", "exists: harness init does not replace an adapter",
                          "pass --force to replace it, or move it away")


def _write_adapter(folder: Path, protocols: dict[str, type], force: bool) -> Path:
    path = folder / ADAPTER_FILE
    _refuse_adapter(path, force)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(render_skeleton(protocols), encoding="utf-8")
    return path


def _with_adapter(text: str, adapter: Path, root: Path) -> str:
    """The draft naming the skeleton (fingerprint recomputed: still an untouched draft)."""
    body = text.rpartition(FINGERPRINT)[0]
    line = f"adapter: {os.path.relpath(adapter, root)}:Adapter      # the skeleton harness init wrote\n"
    head, sep, rest = body.partition("tenancy:\n")
    body = head + line + sep + rest
    return body + f"{FINGERPRINT}{digest(body)}\n"
