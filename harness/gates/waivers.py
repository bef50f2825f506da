"""Waivers: a release lead's signed exception for one evidence item, until a date.

``waivers.yaml`` is a list of ``{item, reason, approver, expires}`` (``ticket`` optional). Each
entry is checked on load against the catalog, so a typo in an item id is an error naming the
line, not a waiver that silently does nothing.

What a waiver does is decided by :func:`assess`, a pure function of the waivers, the item and
the day:

- a waiver is valid **through** its ``expires`` date; from the day after, it is ``expired`` and
  does nothing;
- a waiver for an item the catalog marks ``waivable: false`` (tenant isolation, security) is
  ``rejected``: it is shown in the packet, and never makes the item waived;
- a valid waiver for an item that is not met is ``applied`` and the item becomes ``waived``;
  for an item that is met it is ``not-needed``;
- when several valid waivers name one item, the one that runs longest applies and the others
  are ``superseded``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.gates.catalog import Catalog, EvidenceItem
from harness.gates.yamlsource import line_of, parse_date, read_yaml

__all__ = ["WAIVER_STATES", "Waiver", "WaiverState", "assess", "load_waivers"]

WAIVER_STATES = ("applied", "not-needed", "expired", "rejected", "superseded")
_FIELDS = ("item", "reason", "approver", "expires")
_OPTIONAL = ("ticket",)


@dataclass(frozen=True)
class Waiver:
    item: str
    reason: str
    approver: str
    expires: dt.date
    ticket: str = ""
    line: int = 0

    def expired_on(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class WaiverState:
    waiver: Waiver
    state: str      # one of WAIVER_STATES
    note: str


def load_waivers(path: str | Path, catalog: Catalog) -> tuple[Waiver, ...]:
    """Reads ``waivers.yaml``; an empty file or ``[]`` means no waivers."""
    path = Path(path)
    where = str(path)
    raw = read_yaml(path, fix="pass --waivers FILE naming a waivers.yaml")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(where, f"line {line_of(raw) or 1}", "must be a list of waivers",
                          "write - {item: S03.x, reason: ..., approver: ..., expires: 2026-12-31}")
    return tuple(_waiver(where, index, entry, line_of(raw, index), catalog)
                 for index, entry in enumerate(raw))


def _waiver(where: str, index: int, raw: Any, line: int, catalog: Catalog) -> Waiver:
    at = f"line {line}: waivers[{index}]" if line else f"waivers[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, at, f"must be a mapping with {', '.join(_FIELDS)}",
                          "write - {item: S03.x, reason: ..., approver: ..., expires: 2026-12-31}")
    for key in raw:
        if key not in _FIELDS + _OPTIONAL:
            raise ConfigError(where, f"line {line_of(raw, key)}: waivers[{index}].{key}",
                              "is not a known field", f"allowed: {', '.join(_FIELDS + _OPTIONAL)}")
    values: dict[str, str] = {}
    for key in ("item", "reason", "approver"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problem = "is missing" if value is None else f"must be text, got {value!r}"
            raise ConfigError(where, f"line {line_of(raw, key) or line}: waivers[{index}].{key}",
                              problem, f"every waiver needs {', '.join(_FIELDS)}")
        values[key] = value.strip()
    if catalog.item(values["item"]) is None:
        raise ConfigError(where, f"line {line_of(raw, 'item')}: waivers[{index}].item",
                          f"{values['item']!r} is not an evidence item in {catalog.path.name}",
                          "use an item id from the catalog, e.g. S03.policy-coverage")
    expires = parse_date(raw.get("expires"))
    if expires is None:
        raise ConfigError(where, f"line {line_of(raw, 'expires') or line}: waivers[{index}].expires",
                          f"{raw.get('expires')!r} is not a date",
                          "write the last day the waiver holds as YYYY-MM-DD")
    ticket = raw.get("ticket", "")
    return Waiver(item=values["item"], reason=values["reason"], approver=values["approver"],
                  expires=expires, ticket=str(ticket or ""), line=line)

    return None


def assess(item: EvidenceItem, waivers: tuple[Waiver, ...], today: dt.date,
           met: bool) -> tuple[WaiverState, ...]:
    """The state of every waiver naming ``item``; at most one is ``applied``."""
    mine = [w for w in waivers if w.item == item.id]
    valid = [i for i, w in enumerate(mine) if item.waivable and not w.expired_on(today)]
    chosen = max(valid, key=lambda i: mine[i].expires, default=None)
    states = []
    for index, waiver in enumerate(mine):
        if not item.waivable:
            states.append(WaiverState(waiver, "rejected",
                                      f"{item.id} is not waivable: its evidence must be met"))
        elif waiver.expired_on(today):
            states.append(WaiverState(waiver, "expired",
                                      f"expired {waiver.expires.isoformat()}; it does nothing"))
        elif index != chosen:
            until = mine[chosen].expires.isoformat() if chosen is not None else "?"
            states.append(WaiverState(waiver, "superseded", f"another waiver runs until {until}"))
        elif met:
            states.append(WaiverState(waiver, "not-needed", "the item is met without it"))
        else:
            states.append(WaiverState(waiver, "applied",
                                      f"waived until {waiver.expires.isoformat()} by {waiver.approver}"))
    return tuple(states)
