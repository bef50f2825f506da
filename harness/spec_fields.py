"""The small checks every section of a target spec is validated with: a mapping, a text, a
choice, a flag, a reason (never a TODO a draft left), ``${VAR}`` expansion and the import of an
adapter or app named by the spec. Each failure is a :class:`~harness.errors.ConfigError` naming
the file, the field and the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# a reason a draft left for the user to write (harness init): never accepted as a reason
_TODO = re.compile(r"^\s*TODO\b", re.IGNORECASE)


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


def _flag(where: str, fld: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(where, fld, f"must be true or false, got {raw!r}", f"write {fld}: false")
    return raw


def _names(where: str, fld: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        raise ConfigError(where, fld, "must be a list of extension names", "e.g. [pgcrypto, vector]")
    return tuple(raw)


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


def _todos(raw: Any, at: str = "") -> list[tuple[str, str]]:
    """(field, value) of every value still a TODO a draft left (harness init), in file order."""
    if isinstance(raw, dict):
        return [f for key, value in raw.items() for f in _todos(value, f"{at}.{key}" if at else str(key))]
    if isinstance(raw, list):
        return [f for i, value in enumerate(raw) for f in _todos(value, f"{at}[{i}]")]
    return [(at, raw.strip())] if isinstance(raw, str) and _TODO.match(raw) else []


def _refuse_todos(where: str, raw: dict) -> None:
    """Every decision still open, in one line, before anything else is judged: the user answers
    them all at once, not one error at a time."""
    open_ = _todos(raw)
    if open_:
        (first, value), rest = open_[0], [f for f, _ in open_[1:]]
        more = f"; {len(rest)} more decision(s) still say TODO: {', '.join(rest)}" if rest else ""
        raise ConfigError(where, first, f"still says {value!r}{more}",
                          "replace the TODO with the reason (why it is safe, why it is global, why "
                          "the product lacks it), or remove the entry")


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
