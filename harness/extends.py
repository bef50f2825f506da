"""``extends:``: a target spec written as the changes to another spec.

A known-bad variant is the reference plus one mistake, so its spec says only that:

```yaml
extends: ../../../target.yaml       # relative to this file
name: reference-using-true
migrations:
  version_locations: [versions]     # relative to this file, as every path in it
```

The file named is read (itself possibly extending another), and this file is laid over it as a
JSON merge patch (RFC 7396): mappings merge key by key, any other value (a list, a text)
replaces the one below, and ``null`` removes it. Relative paths resolve next to the file that
names them: before merging, the paths each file names (the fields in :data:`PATH_FIELDS`) are
made absolute from that file's folder, so a variant three folders down still finds the
reference's migrations and seeds. A chain that comes back to a file already in it is refused,
as is a missing file, each with the file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.yamlfiles import load_text, read_text

__all__ = ["PATH_FIELDS", "merge_patch", "read_spec"]

# the spec fields holding paths relative to the file (lists: every entry); adapter only when it
# names a file (path/to/file.py:Class), not a module
PATH_FIELDS = ("migrations.script_location", "migrations.location", "migrations.version_locations",
               "migrations.platform", "suites", "standards.seeds", "adapter")
MAX_CHAIN = 16


def read_spec(path: Path, where: str,
              expand: Callable[[str, str, Any], Any]) -> tuple[Any, tuple[Path, ...]]:
    """The spec at ``path``, ``${VAR}``\\ s filled by ``expand`` file by file, with every
    ``extends:`` resolved; and the files it extends, nearest first."""
    extended: list[Path] = []
    return _read(path.resolve(), where, expand, (), extended), tuple(extended)


def _read(path: Path, where: str, expand: Callable[[str, str, Any], Any], chain: tuple[Path, ...],
          extended: list[Path]) -> Any:
    raw = load_text(read_text(path, where, "pass --target FILE naming a target spec"), where)
    if not isinstance(raw, dict):
        return raw
    raw = expand(where, "", raw)
    if "extends" not in raw:
        return raw
    named = raw.pop("extends")
    if not isinstance(named, str) or not named.strip():
        raise ConfigError(where, "extends", f"must name a spec file, got {named!r}",
                          "e.g. extends: ../../../target.yaml, relative to this file")
    parent = (path.parent / named).resolve()
    seen = (*chain, path)
    if parent in seen:
        loop = " -> ".join(str(p) for p in (*seen, parent))
        raise ConfigError(where, "extends", f"comes back to a file already in the chain ({loop})",
                          "remove the extends: that closes the loop")
    if len(seen) >= MAX_CHAIN:
        raise ConfigError(where, "extends", f"chains more than {MAX_CHAIN} files",
                          "extend the reference spec directly")
    if not parent.is_file():
        raise ConfigError(where, "extends", f"{named!r} is not a file (looked in {parent})",
                          "name the spec this one changes, relative to this file")
    extended.append(parent)
    below = _read(parent, str(parent), expand, seen, extended)
    if not isinstance(below, dict):
        raise ConfigError(str(parent), "", "must be a mapping of fields",
                          "see target.yaml for the shape")
    return merge_patch(_rebased(below, parent.parent), _rebased(raw, path.parent))


def merge_patch(below: Any, patch: Any) -> Any:
    """``patch`` laid over ``below`` (RFC 7396): mappings merge, null removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(below) if isinstance(below, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _rebased(raw: dict, folder: Path) -> dict:
    """``raw`` with the relative paths of :data:`PATH_FIELDS` made absolute from ``folder``."""
    out = dict(raw)
    for dotted in PATH_FIELDS:
        *parents, leaf = dotted.split(".")
        holder = out
        for name in parents:
            if not isinstance(holder.get(name), dict):
                break
            holder[name] = holder = dict(holder[name])
        else:
            if leaf in holder:
                holder[leaf] = _absolute(holder[leaf], folder, dotted == "adapter")
    return out


def _absolute(value: Any, folder: Path, adapter: bool) -> Any:
    if isinstance(value, list):
        return [_absolute(v, folder, adapter) for v in value]
    if not isinstance(value, str) or not value.strip():
        return value   # the loader says what is wrong with it
    if adapter:
        module, sep, attr = value.partition(":")
        if not module.endswith(".py"):
            return value       # a module on the import path, not a file
        return f"{_join(folder, module)}{sep}{attr}"
    return _join(folder, value)


def _join(folder: Path, value: str) -> str:
    return value if os.path.isabs(value) else str((folder / value).resolve())
