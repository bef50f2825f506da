"""Capabilities: what a behavioural family needs from a target, and what a target lacks.

Each family declares small ``typing.Protocol``\\ s of business operations, each under a
capability name (``events``, ``entitlements``, ...), in its family object
(:mod:`harness.families`). A test asks for one by name with :func:`require`, which finds the
Protocol in the registry. There is one contract for an operation a target does not have, however
the gap shows:

- the adapter has no such method, the spec names no adapter, or a method raises
  :class:`Unsupported` (``NotImplementedError`` is accepted as the same thing);
- the spec declares the capability under ``unsupported: {name: reason}`` -> the test is
  **not applicable** with that reason (skipped; the packet shows the catalog items of that
  capability as not applicable, never met);
- the spec does not declare it -> the test is an **error** (:class:`UndeclaredCapability`)
  naming the file, the field ``unsupported.<capability>`` and the fix: an undeclared gap is
  neither a pass nor a failure of the target, but a spec that does not say what it lacks.

The pytest plugin applies the same rule to an :class:`Unsupported` raised anywhere in a test or
its fixtures (:func:`judge_unsupported`), finding the capability from the operation that raised.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, NoReturn

from harness.errors import HarnessError
from harness.evidence import EvidenceFailure
from harness.families import canonical_capability, capability_of_operation, operations, protocol_of

__all__ = ["CapabilityMissing", "UndeclaredCapability", "Unsupported", "judge_unsupported",
           "missing_methods", "not_applicable", "require", "undeclared"]

class Unsupported(Exception):  # noqa: N818  (the name users raise: harness.Unsupported("reason"))
    """Raised by an adapter for an operation its target does not have, with the reason.

    ``capability`` may name the capability; otherwise it is found from the operation raising.
    """

    def __init__(self, reason: str, *, capability: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.capability = capability


class UndeclaredCapability(HarnessError):
    """The target lacks a capability its spec does not declare under ``unsupported:``."""


class CapabilityMissing(EvidenceFailure):
    """Something a check needs is absent from the target's spec (e.g. no seed data declared)."""


def missing_methods(adapter: Any, protocol: type) -> list[str]:
    """The Protocol's methods the adapter does not have (by name: Protocols check no signatures)."""
    return sorted(name for name in operations(protocol) if not callable(getattr(adapter, name, None)))


def not_applicable(spec: Any, capability: str, detail: str = "") -> NoReturn:
    """Skips the test as not applicable: ``spec`` declares ``capability`` unsupported."""
    import pytest

    reason = spec.unsupported[capability]
    pytest.skip(f"not applicable: target {spec.name} declares no {capability!r} capability "
                f"({reason})" + (f"; {detail}" if detail else ""))


def undeclared(spec: Any, capability: str, what: str) -> UndeclaredCapability:
    """The error for a gap ``spec`` does not declare: file, field and fix in one line."""
    return UndeclaredCapability(
        f"{spec.path}: unsupported.{capability}: {what}, and the spec does not declare it "
        f"(fix: implement it in the adapter, or add unsupported: {{{capability}: <reason>}} "
        f"to {spec.path.name})")


def require(adapter: Any, capability: str, spec: Any) -> Any:
    """The adapter, checked against ``capability``'s Protocol (from the family registry); not
    applicable if ``spec`` declares ``capability`` unsupported."""
    capability = canonical_capability(capability, "harness.capabilities.require", "capability")
    protocol = protocol_of(capability)
    if protocol is None:
        raise TypeError(f"capability {capability!r} is provided by the spec, not the adapter: "
                        "check the spec's field instead of require()")
    if capability in spec.unsupported:
        not_applicable(spec, capability)
    if adapter is None:
        raise undeclared(spec, capability, f"target {spec.name} names no adapter, so the "
                                           f"{capability!r} checks cannot run")
    missing = missing_methods(adapter, protocol)
    if missing:
        raise undeclared(spec, capability, f"adapter {type(adapter).__name__} lacks the "
                                           f"{capability!r} capability ({protocol.__name__}): "
                                           f"missing {', '.join(missing)}")
    return adapter


def judge_unsupported(error: BaseException, spec: Any) -> NoReturn:
    """An :class:`Unsupported` (or ``NotImplementedError``) from a test: not applicable when
    declared, :class:`UndeclaredCapability` when not."""
    operation = _raising_operation(error.__traceback__)
    capability = getattr(error, "capability", None) or capability_of_operation(operation or "")
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    shown = f"{operation}()" if operation else "an operation"
    if capability is None:
        raise UndeclaredCapability(
            f"{spec.path}: the adapter does not support {shown} ({reason}), and no capability "
            "names it (fix: raise harness.Unsupported(reason, capability=<name>) so the spec "
            "can declare it under unsupported:)") from error
    if capability in spec.unsupported:
        not_applicable(spec, capability, f"the adapter says {shown}: {reason}")
    raise undeclared(spec, capability, f"the adapter does not support {shown} ({reason})") from error


def _raising_operation(tb: TracebackType | None) -> str | None:
    """The innermost frame that is a capability operation: where the target said no."""
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return next((name for name in reversed(names) if capability_of_operation(name)), None)
