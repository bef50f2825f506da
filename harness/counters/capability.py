"""The ``entitlements`` capability: what a target must offer for the counter suite to attack it.

A target grants a workspace a quota of a feature per period (with an optional grace allowance
above it), and then, through a **session** (one connection a worker keeps for its whole run),
consumes against it, rolls the period over and changes the plan. Each call reports what the
worker saw (:class:`ConsumeOutcome`, :class:`PeriodRollover`, :class:`PlanChange`): those
observations are what the checker explains with a serial order. Reads of the final state
(:meth:`EntitlementCapability.usage_periods`, :meth:`~EntitlementCapability.consumption_records`)
let it compare the stored counters with the usage rows.

A session is opened at an isolation level (``read committed`` or ``serializable``); at
``serializable`` the target retries its own serialization failures (SQLSTATE 40001) and says
how many attempts a call took.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

from harness.evidence import EvidenceFailure

__all__ = [
    "CAPABILITY", "ISOLATION_LEVELS", "ConsumeOutcome", "CounterFailure", "EntitlementCapability",
    "EntitlementSession", "PeriodRollover", "PeriodUsage", "PlanChange", "PlanTerms", "UsageRecord",
]

CAPABILITY = "entitlements"
ISOLATION_LEVELS = ("read committed", "serializable")


class CounterFailure(EvidenceFailure):
    """An entitlement counter check failed: a history no serial order explains, a lost update,
    a grant above quota, a counter that disagrees with its usage rows."""


@dataclass(frozen=True)
class PlanTerms:
    """A quota per period and the grace allowed above it (grace 0 is a hard limit)."""

    quota: int
    grace: int = 0
    plan: str = "standard"

    @property
    def limit(self) -> int:
        return self.quota + self.grace


@dataclass(frozen=True)
class ConsumeOutcome:
    """What a consume saw: granted or denied, the counter of the period it hit (after its own
    increment when granted), the terms in force there, and whether it replayed an earlier
    request with the same idempotency key."""

    granted: bool
    used: int
    quota: int
    grace: int
    period: str
    replayed: bool = False
    attempts: int = 1

    @property
    def remaining(self) -> int:
        """Quota left in the period (grace not included; never negative)."""
        return max(self.quota - self.used, 0)

    @property
    def in_grace(self) -> bool:
        return self.granted and self.used > self.quota


@dataclass(frozen=True)
class PeriodRollover:
    """A period closed at its boundary with its final count, and the next one opened."""

    closed_period: str
    closed_used: int
    opened_period: str
    attempts: int = 1


@dataclass(frozen=True)
class PlanChange:
    """New terms, in force in the open period from now on; ``used`` is that period's count."""

    period: str
    used: int
    quota: int
    grace: int
    attempts: int = 1


@dataclass(frozen=True)
class PeriodUsage:
    """One period's stored counter."""

    period: str
    used: int
    quota: int
    grace: int
    closed: bool


@dataclass(frozen=True)
class UsageRecord:
    """One stored consumption: its idempotency key, amount, outcome and the period it counted in."""

    idempotency_key: str
    amount: int
    granted: bool
    period: str | None


@runtime_checkable
class EntitlementSession(Protocol):
    """One worker's connection to the target's entitlement operations."""

    def consume(self, workspace: UUID, feature: str, amount: int,
                idempotency_key: str) -> ConsumeOutcome: ...

    def reset_period(self, workspace: UUID, feature: str) -> PeriodRollover: ...

    def change_plan(self, workspace: UUID, feature: str, terms: PlanTerms) -> PlanChange: ...


@runtime_checkable
class EntitlementCapability(Protocol):
    """The ``entitlements`` capability (declare ``unsupported: {entitlements: reason}`` if absent)."""

    def create_user(self, email: str) -> UUID: ...

    def create_workspace(self, name: str, owner: UUID) -> UUID: ...

    def grant_entitlement(self, workspace: UUID, feature: str, terms: PlanTerms) -> None: ...

    def entitlement_session(self, isolation: str = "read committed"
                            ) -> AbstractContextManager[EntitlementSession]: ...

    def consume(self, workspace: UUID, feature: str, amount: int,
                idempotency_key: str) -> ConsumeOutcome: ...

    def usage_periods(self, workspace: UUID, feature: str) -> Sequence[PeriodUsage]: ...

    def consumption_records(self, workspace: UUID, feature: str) -> Sequence[UsageRecord]: ...
