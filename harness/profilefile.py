"""Profile files: named profiles read through the bounded YAML loader into frozen dataclasses.

Every family that spends time or volume (load SLOs, recovery, counters, the migration
rehearsal, replay) keeps its knobs in a YAML file of named profiles, one picked by name, by an
environment variable or by the file's default. This module is the one way such a file is read:
:func:`read_document` decodes it as UTF-8 through :mod:`harness.yamlfiles` (aliases bounded),
:func:`choose` picks a profile (a name no profile has, from the caller or from the variable, is
refused with the names there are), and :func:`build` turns a mapping into a frozen dataclass
field by field from its type hints. An unknown key (with the closest known one), a wrong type
(``workers: 0.5``, ``rto_seconds: "fast"``, ``default: [1]``), a missing field or a number out
of range (``tenants: -3``) is one :class:`~harness.errors.ConfigError` naming the file, the
field and the fix. Ranges live on the dataclass fields: ``field(metadata=bounds(1, 64))``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import ConfigError
from harness.yamlfiles import load_text, read_text

__all__ = ["bounds", "build", "choose", "read_document"]

T = TypeVar("T")


def bounds(minimum: float | None = None, maximum: float | None = None, *,
           above: float | None = None) -> dict[str, float | None]:
    """Field metadata: ``minimum <= value <= maximum``, or ``value > above``."""
    return {"minimum": minimum, "maximum": maximum, "above": above}


def read_document(path: str | os.PathLike[str], fix: str) -> Any:
    """The file's YAML (UTF-8, bounded); any problem is one ConfigError naming the file."""
    where = str(path)
    return load_text(read_text(Path(path), where, fix), where)


def choose(where: str, profiles: Any, container: str, name: str | None, env: str,
           default: str) -> tuple[str, Any]:
    """``(name, raw profile)``: ``name``, else ``$env``, else ``default``, which must be there."""
    if not isinstance(profiles, Mapping) or not profiles:
        raise ConfigError(where, container or "profiles", "must be a mapping of named profiles",
                          "write name: {field: value, ...} for each profile")
    known = ", ".join(str(k) for k in profiles)
    from_env = os.environ.get(env)
    picked = name or from_env or default
    if not isinstance(picked, str) or picked not in profiles:
        prefix = f"{container}." if container else ""
        if not name and from_env:
            raise ConfigError(where, f"{env}={from_env!r}", "names no profile in this file",
                              f"set {env} to one of {known}, or unset it")
        raise ConfigError(where, f"{prefix}{picked}", "no such profile",
                          f"use one of {known} (set {env})")
    return picked, profiles[picked]


def build(cls: type[T], raw: Any, where: str, prefix: str, fixed: Mapping[str, Any] | None = None,
          handled: frozenset[str] = frozenset()) -> T:
    """``cls`` from the mapping ``raw`` at ``prefix``; ``fixed`` fields are given by the caller,
    ``handled`` keys are read by the caller (allowed in ``raw``, not fields here)."""
    fixed = dict(fixed or {})
    if not isinstance(raw, Mapping):
        raise ConfigError(where, prefix, f"must be a mapping, got {_shown(raw)}",
                          "write it as field: value lines")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in fixed}  # type: ignore[arg-type]
    allowed = set(fields) | set(handled)
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}"
            raise ConfigError(where, _join(prefix, str(key)), "is not a known field", hint)
    values = dict(fixed)
    for name, fld in fields.items():
        path = _join(prefix, name)
        if name not in raw:
            if fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                raise ConfigError(where, path, "is missing", f"add {name}: <value>")
            continue
        # a list the profile must give (no default) must also hold something
        metadata = {**fld.metadata, "nonempty": fld.default is dataclasses.MISSING
                    and fld.default_factory is dataclasses.MISSING}
        values[name] = _value(hints[name], raw[name], where, path, metadata)
    return cls(**values)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _value(hint: Any, value: Any, where: str, path: str, metadata: Mapping[str, Any]) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _value(rest[0], value, where, path, metadata)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where, path)  # type: ignore[type-var]
    if origin is tuple:
        if not isinstance(value, list | tuple) or (metadata.get("nonempty") and not value):
            what = "a non-empty list" if metadata.get("nonempty") else "a list"
            raise ConfigError(where, path, f"must be {what}, got {_shown(value)}",
                              "write it as [a, b, ...]")
        return tuple(_value(args[0], v, where, f"{path}[{i}]", metadata) for i, v in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(where, path, f"must be a mapping, got {_shown(value)}",
                              "write it as key: value lines")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, path, f"must be true or false, got {_shown(value)}", "write true or false")
        return value
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(where, path, f"must be a non-empty text, got {_shown(value)}",
                              "write it as a word or a quoted text")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(where, path, f"must be a whole number, got {_shown(value)}",
                              f"write a whole number{_range(metadata)}")
        return _in_range(value, where, path, metadata)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(where, path, f"must be a number, got {_shown(value)}",
                              f"write a plain number{_range(metadata)}")
        return float(_in_range(value, where, path, metadata))
    raise TypeError(f"profilefile cannot read a field typed {hint!r}")  # a harness bug, not input


def _in_range(value: float, where: str, path: str, metadata: Mapping[str, Any]) -> float:
    low, high, above = metadata.get("minimum"), metadata.get("maximum"), metadata.get("above")
    if (low is not None and value < low) or (high is not None and value > high) or \
            (above is not None and value <= above):
        raise ConfigError(where, path, f"is {value!r}, out of range", f"write a number{_range(metadata)}")
    return value


def _range(metadata: Mapping[str, Any]) -> str:
    low, high, above = metadata.get("minimum"), metadata.get("maximum"), metadata.get("above")
    if above is not None:
        return f" above {above:g}"
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" of at least {low:g}"
    if high is not None:
        return f" of at most {high:g}"
    return ""
