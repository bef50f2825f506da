"""Capabilities: what a behavioural family needs from a target, and what a target lacks.

Each family defines a small ``typing.Protocol`` of business operations (``harness/<family>/``)
and names it with a capability name (``replay``, ``counters``, ...). A test asks for it with
:func:`require`:

- the target's spec lists the capability under ``unsupported:`` with a reason -> the test is
  skipped with that reason; the packet shows the catalog items of that capability as **not
  applicable** (gates.yaml ``capability:``), never met;
- the adapter does not implement the Protocol -> the test fails as :class:`CapabilityMissing`
  naming the missing methods: an undeclared gap is missing evidence, never a pass;
- otherwise the adapter is returned, typed as the Protocol.
"""

from __future__ import annotations

from typing import Any, TypeVar

from harness.evidence import EvidenceFailure

__all__ = ["CapabilityMissing", "missing_methods", "require"]

P = TypeVar("P")


class CapabilityMissing(EvidenceFailure):
    """The target's adapter lacks operations a family needs, and its spec does not declare it."""


def missing_methods(adapter: Any, protocol: type) -> list[str]:
    """The Protocol's methods the adapter does not have (by name: Protocols check no signatures)."""
    wanted = [name for name in getattr(protocol, "__protocol_attrs__", ())
              if not name.startswith("_")]
    if not wanted:  # Python < 3.12 keeps the members elsewhere
        wanted = [name for name, value in vars(protocol).items()
                  if callable(value) and not name.startswith("_")]
    return sorted(name for name in wanted if not callable(getattr(adapter, name, None)))


def require(adapter: Any, protocol: type[P], capability: str, spec: Any) -> P:
    """The adapter as ``protocol``; skips if ``spec`` declares ``capability`` unsupported."""
    import pytest

    reason = getattr(spec, "unsupported", {}).get(capability)
    if reason is not None:
        pytest.skip(f"not applicable: target {spec.name} declares no {capability!r} capability "
                    f"({reason})")
    if adapter is None:
        raise CapabilityMissing(
            f"target {spec.name} names no adapter, so the {capability!r} checks cannot run",
            [("fix", f"set adapter: in {spec.path}, or declare unsupported: {{{capability}: <reason>}}")])
    missing = missing_methods(adapter, protocol)
    if missing:
        raise CapabilityMissing(
            f"adapter {type(adapter).__name__} lacks the {capability!r} capability "
            f"({protocol.__name__}): missing {', '.join(missing)}",
            [("fix", f"implement {', '.join(missing)} on the adapter, or declare "
                     f"unsupported: {{{capability}: <reason>}} in {spec.path}")])
    return adapter
