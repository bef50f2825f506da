"""Presets: the keys a common kind of target shares, as data in the package.

A spec that says ``preset: supabase`` starts from ``harness/presets/supabase.yaml`` and sets only
what is its own; every key it sets wins, key by key (mappings are merged, anything else is
replaced), so a preset never stands in the way. Paths inside a preset (a folder of platform
migrations) are relative to the preset file and resolved here, so the merged spec can live
anywhere. A preset may carry a key this version's spec loader does not read yet; such a key is
left out of the merge rather than refused, since the user did not write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.yamlfiles import load_text

__all__ = ["apply_preset", "folder", "load_preset", "preset_names"]

# keys of a preset holding paths relative to the preset's folder: (section, key)
_PATH_LISTS = (("migrations", "platform"),)
_REPLACED_WHOLE = {"binding.settings"}


def folder() -> Path:
    """Where the presets live (package data; a wheel installs them as plain files)."""
    return Path(str(resources.files(__name__)))


def preset_names() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.yaml"))


def load_preset(name: str, where: str = "", fld: str = "preset") -> dict[str, Any]:
    """The preset's keys, paths made absolute; an unknown name names the ones there are."""
    names = preset_names()
    if not isinstance(name, str) or name not in names:
        raise ConfigError(where or "preset", fld if where else "", f"{name!r} is not a preset",
                          f"use one of {', '.join(names)}, or remove the preset key")
    path = folder() / f"{name}.yaml"
    raw = load_text(path.read_text(encoding="utf-8"), str(path)) or {}
    for section, key in _PATH_LISTS:
        entries = (raw.get(section) or {}).get(key)
        if entries:
            raw[section][key] = [str((path.parent / entry).resolve()) for entry in entries]
    return raw


def apply_preset(where: str, raw: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """``raw`` on top of the preset it names (``preset:``), or ``raw`` unchanged without one."""
    if "preset" not in raw:
        return dict(raw)
    preset = load_preset(raw["preset"], where)
    own = {k: v for k, v in raw.items() if k != "preset"}
    allowed = set(known)
    base = {k: v for k, v in preset.items() if k in allowed or k in own}
    return merge(base, own)


def merge(base: Mapping[str, Any], own: Mapping[str, Any], at: str = "") -> dict[str, Any]:
    """``own`` over ``base``: mappings merged key by key, any other value replaced whole.

    ``binding.settings`` is one decision (what a request binds), so the spec's replaces the
    preset's whole: a spec binding ``app.org_id`` must not also bind the preset's setting.
    """
    result = dict(base)
    for key, value in own.items():
        path = f"{at}.{key}" if at else str(key)
        if (isinstance(value, Mapping) and isinstance(result.get(key), Mapping)
                and path not in _REPLACED_WHOLE):
            result[key] = merge(result[key], value, path)
        else:
            result[key] = value
    return result
