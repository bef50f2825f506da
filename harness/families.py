"""The scenario families: each one declared object, and the one registry that knows them all.

A family is a :class:`Family` exported as ``FAMILY`` by its package's ``__init__.py``
(``harness/isolation``, ``harness/replay``, ...): its name (the ``scenarios/<name>`` folder),
its capabilities (``{capability name: Protocol}``), its failure type, its profile file, and its
known-bad variants with the items each must fail. :func:`families` lists them: the built-in
ones below, plus any a distribution registers under the ``gate_harness.families`` entry point
group (``name = "package.module:FAMILY"``), so a new family needs no edit of another's files.

From the registry the harness checks capability names wherever they appear (``gates.yaml``,
the spec's ``unsupported:``, :func:`harness.capabilities.require`), the capability an operation
belongs to, and the one parametrised bite test runs every variant of every family.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points

from harness.errors import ConfigError

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "Family", "Variant", "canonical_capability", "capabilities",
           "capability_of_operation", "families", "family", "operations", "protocol_of"]

ENTRY_POINT_GROUP = "gate_harness.families"
# the harness's own families, in the order the bite test runs them
BUILTIN = ("harness.isolation", "harness.rehearsal", "harness.counters", "harness.replay",
           "harness.ai", "harness.api", "harness.load", "harness.standards", "harness.recovery")


@dataclass(frozen=True)
class Variant:
    """A known-bad variant of the reference (``reference_impl/variants/<name>``) and its verdict;
    one named ``<real>/<name>`` is a variant of a real schema
    (``fixtures/targets/<real>/variants/<name>``), and the bite test shows the clean real
    schema, narrowed the same way, meets what the variant fails.

    ``fails``: the items its one mistake must turn failed (their gates NO-GO). ``stays_met``:
    the items that must stay met; None means every other item of the family in the gates run,
    an empty set that only ``fails`` is judged. The rest narrows the run to what judges the
    mistake, for time: ``gates`` (default: every gate of the family), ``select`` (a ``-k``
    expression), ``pytest_args``; ``tests`` maps a fragment of a test's name to the status every
    such test must have (the check meant to catch it, or one that must not); ``private_server``
    for a variant that changes cluster-wide state (roles). ``serial``: False takes a run out of
    its family's one-at-a-time chain (``Family.serial_runs``) when it measures no time. ``baseline``: the variable naming the
    last release's packet that the family's suite compares with (:data:`harness.baselines.
    BASELINE_GATES`); the bite run points it at the clean reference's packet of the same session,
    so the variant is also judged as a regression against the reference measured beside it, as
    a release lead compares with the last release (absolute ceilings alone let a tenfold slower
    endpoint through on a runner fast enough).
    """

    fails: frozenset[str]
    stays_met: frozenset[str] | None = None
    gates: tuple[str, ...] | None = None
    select: str | None = None
    pytest_args: tuple[str, ...] = ()
    tests: Mapping[str, str] = field(default_factory=dict)
    private_server: bool = False
    baseline: str | None = None
    serial: bool | None = None   # in its family's chain of one-at-a-time runs (None: as the family says)


@dataclass(frozen=True)
class Family:
    """One scenario family, as every part of the harness sees it."""

    name: str                                   # the scenarios/<name> folder
    package: str                                # its harness package (plain checks, Protocols)
    items: tuple[str, ...]                      # the evidence items its scenarios feed
    failure: type                               # its EvidenceFailure subclass
    # capability name -> its Protocol; None: a capability the spec provides, not the adapter
    capabilities: Mapping[str, type | None] = field(default_factory=dict)
    profile: str | None = None                  # its profile file, relative to the project
    # "module:function" reading one named profile, (path, name | None) -> typed profile: what
    # ``harness gate`` calls on every profile of the file before any suite runs (configcheck)
    profile_loader: str | None = None
    profile_file_env: str | None = None         # a variable naming another file of that shape
    variant_prefix: str = ""                    # reference_impl/variants/<prefix>*
    variants: Mapping[str, Variant] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)   # old capability name -> current
    go_gates: tuple[str, ...] = ()              # gates its suite alone makes GO on the reference
    bite_env: Mapping[str, str] = field(default_factory=dict)  # environment of its bite runs
    # and of its variants' bite runs only, over bite_env (the clean reference's run keeps the
    # gate's own settings: its proof of a clean target is the one a release lead gets)
    variant_env: Mapping[str, str] = field(default_factory=dict)
    serial_runs: bool = False                   # its bite runs one at a time (they measure speed)

    @property
    def scenarios(self) -> str:
        return f"scenarios/{self.name}"

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(sorted({item.split(".", 1)[0] for item in self.items}))


@cache
def families() -> tuple[Family, ...]:
    """Every family: the built-in ones, then those registered by entry point."""
    found = [importlib.import_module(name).FAMILY for name in BUILTIN]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        if not isinstance(loaded, Family):
            raise ConfigError(f"entry point {entry.name} ({entry.value})", ENTRY_POINT_GROUP,
                              f"is a {type(loaded).__name__}, not a harness.families.Family",
                              "point it at the family's FAMILY object")
        found.append(loaded)
    names = [f.name for f in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(ENTRY_POINT_GROUP, duplicate, "is registered twice",
                          "give the family a name of its own")
    return tuple(found)


def family(name: str) -> Family:
    for candidate in families():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


@cache
def capabilities() -> dict[str, type | None]:
    """Every capability name, current ones only, with its Protocol (one per name)."""
    merged: dict[str, type | None] = {}
    for fam in families():
        for name, protocol in fam.capabilities.items():
            if name in merged and merged[name] is not protocol:
                raise ConfigError(f"family {fam.name}", f"capabilities.{name}",
                                  "names another Protocol than the family that declared it first",
                                  "share the one Protocol, or pick another name")
            merged[name] = protocol
    return merged


def _aliases() -> dict[str, str]:
    return {old: new for fam in families() for old, new in fam.aliases.items()}


def canonical_capability(name: str, where: str, fld: str) -> str:
    """``name`` as the registry knows it (an old alias becomes its current name); an unknown
    name is a :class:`ConfigError` naming the field, with the closest known names."""
    known = capabilities()
    if name in known:
        return name
    aliases = _aliases()
    if name in aliases:
        return aliases[name]
    close = difflib.get_close_matches(name, [*known, *aliases], n=3)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ConfigError(where, fld, f"{name!r} is not a capability of any family",
                      f"{hint}known: {', '.join(sorted(known))}")


def protocol_of(capability: str) -> type | None:
    """The Protocol of ``capability`` (None for one the spec provides, not the adapter)."""
    return capabilities()[canonical_capability(capability, "harness.capabilities.require", "capability")]


def operations(protocol: type) -> list[str]:
    """The public method names a capability Protocol declares."""
    wanted = [name for name in getattr(protocol, "__protocol_attrs__", ())
              if not name.startswith("_")]
    if not wanted:  # Python < 3.12 keeps the members elsewhere
        wanted = [name for name, value in vars(protocol).items()
                  if callable(value) and not name.startswith("_")]
    return wanted


@cache
def _operations() -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for name, protocol in capabilities().items():
        for operation in operations(protocol) if protocol is not None else ():
            found.setdefault(operation, set()).add(name)
    # an operation two capabilities share (create_user) names neither: the adapter says which
    return {operation: next(iter(names)) for operation, names in found.items() if len(names) == 1}


def capability_of_operation(operation: str) -> str | None:
    """The capability whose Protocol declares ``operation`` (a method name), if any."""
    return _operations().get(operation)
