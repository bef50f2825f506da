"""Every capability name with its Protocol: what ``harness init`` drafts and skeletons from.

Read from the family registry (:func:`harness.families.capabilities`), so a family registered
by entry point is drafted and skeletoned like the built-in ones. A capability whose Protocol is
``None`` is provided by the spec (``migrations.metadata``, ``standards.seeds``), not the adapter:
it is a decision in the draft, never a skeleton method.
"""

from __future__ import annotations

__all__ = ["UNSUPPORTED", "adapter_protocols", "capability_names"]


def _unsupported() -> type[Exception]:
    """What a skeleton method raises: ``harness.Unsupported`` (NotImplementedError before it)."""
    import harness

    return getattr(harness, "Unsupported", NotImplementedError)


UNSUPPORTED = _unsupported()


def capability_names() -> tuple[str, ...]:
    """Every current capability name, in the registry's order of families."""
    from harness.families import capabilities

    return tuple(capabilities())


def adapter_protocols() -> dict[str, type]:
    """``{capability name: Protocol}`` for the capabilities an adapter implements."""
    from harness.families import capabilities

    return {name: protocol for name, protocol in capabilities().items() if protocol is not None}
