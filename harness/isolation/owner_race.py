"""The last-owner rule under concurrency: owners who step down at the same moment leave one.

The role matrix proves the rule one change at a time. A rule checked by reading the other
owners' rows without serialising owner changes per tenant (no lock on the tenant row, no
SERIALIZABLE) passes that proof and still lets two owners who demote themselves concurrently
both succeed, each seeing the other still an owner: the tenant is left with no owner at all.
Each race seeds a fresh tenant with ``owners`` owners, releases all of them together (a barrier)
to demote themselves, and judges by what the adapter answered: at least one must be refused
(or rolled back by a serialization failure, 40001: SERIALIZABLE's way of serialising, the change
did not happen and a retry is the design). A deadlock (40P01) is a failure of the target: the
rule's own locks taken in an order that lets two ordinary requests wait for each other (e.g.
FOR UPDATE on a row the audit insert's foreign key check already holds KEY SHARE on), so owners
are answered with an error the product never meant to give.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from uuid import UUID

from harness.adapter import AccessDenied, InvariantViolated
from harness.isolation.membership import Memberships
from harness.target import MembershipSpec

__all__ = ["OwnerRace", "owner_races"]

# serialization failure: the database rolled the change back by design, the owner stays an owner
_ROLLED_BACK = ("40001",)
_DEADLOCK = "40P01"


@dataclass(frozen=True)
class OwnerRace:
    workspace: UUID
    answers: tuple[str, ...]          # per owner: allowed / refused (how) / error (what)

    @property
    def passed(self) -> bool:
        return any(a != "allowed" for a in self.answers) and not any(a.startswith("error") for a in self.answers)

    def evidence(self) -> tuple[str, str]:
        lines = [f"owner {n + 1} demoting themselves: {a}" for n, a in enumerate(self.answers)]
        if all(a == "allowed" for a in self.answers):
            lines.append("every owner stepped down at once: the workspace has no owner left")
        return f"workspace {self.workspace}", "\n".join(lines)


def owner_races(adapter: Memberships, model: MembershipSpec | None = None, *, races: int = 24,
                owners: int = 3) -> list[OwnerRace]:
    """``races`` fresh tenants, each with ``owners`` owners demoting themselves together.

    Whether a race overlaps is up to the scheduler (each change opens its own connection), so
    an unserialised rule is caught by most races, not every one: 8 races once all missed it on
    a loaded 2-core machine. 24 (about 90 ms each) make a miss of all of them far rarer."""
    model = model or MembershipSpec()
    owner = model.owner_role
    lower = next(r for r in reversed(model.roles) if r != owner)
    return [_race(adapter, owner, lower, owners) for _ in range(races)]


def _race(adapter: Memberships, owner: str, lower: str, owners: int) -> OwnerRace:
    tag = uuid.uuid4().hex[:10]
    people = [adapter.create_user(f"{owner}{n}-race-{tag}@example.test") for n in range(owners)]
    workspace = adapter.create_workspace(f"owner-race-{tag}", people[0])
    for n, person in enumerate(people[1:], 1):
        adapter.add_member(workspace, people[0], person, owner, f"race-seed-{n}-{tag}")
    barrier = threading.Barrier(owners)
    answers = [""] * owners

    def step_down(n: int) -> None:
        barrier.wait()
        try:
            adapter.change_role(workspace, people[n], people[n], lower, f"race-{n}-{tag}")
            answers[n] = "allowed"
        except (AccessDenied, InvariantViolated) as exc:
            answers[n] = f"refused ({type(exc).__name__})"
        except Exception as exc:  # the target's answer, judged: never a crash of the harness
            sqlstate = getattr(exc, "sqlstate", None)
            if sqlstate in _ROLLED_BACK:
                answers[n] = f"rolled back ({sqlstate}: retryable, nothing changed)"
            elif sqlstate == _DEADLOCK:
                answers[n] = (f"error (deadlock, {sqlstate}: the rule's locks wait on each other; "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0]})")
            else:
                answers[n] = f"error ({type(exc).__name__}: {exc})"

    threads = [threading.Thread(target=step_down, args=(n,)) for n in range(owners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return OwnerRace(workspace, tuple(answers))
