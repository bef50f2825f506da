"""A checker in the spirit of Jepsen's Elle, for an entitlement counter: find a serial order.

A concurrent history is correct when some **serial order** of its operations, one that respects
real time (a call that returned before another was invoked comes first), replayed on a model of
the counter, produces exactly what every worker saw and the state stored at the end. The model:

- a consume of ``amount`` with a new idempotency key is granted iff ``used + amount <= quota +
  grace`` in the open period, and then counts there (so a grant above the quota in force, or a
  denial with room left, has no explanation); a consume whose key was already used counts
  nothing and answers with the first outcome (a double-counted retry has none);
- a reset closes the open period with its count and opens a new, empty one under the same
  terms (usage lost in the switch, or a period label used twice, has none);
- a plan change sets the open period's quota and grace.

The search is a depth-first walk over the operations that may come next, with a memo of states
already refuted. Consumes that leave the counter unchanged (denials, replays) are placed as
soon as they fit: they have no effect on the counter in any state, so moving one earlier can
never invalidate what follows, which keeps histories of hundreds of calls tractable. A plan
change is never placed that way, even when it re-sets the terms already in force: its effect
is an assignment, and an overlapping plan change may have to come before it. When no order
exists, :class:`Explanation` keeps the deepest orders tried and why each candidate next step
was rejected: that, with the history, is the evidence a failure carries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from harness.counters.capability import ConsumeOutcome, PeriodRollover, PlanChange
from harness.counters.history import CONSUME, PLAN, RESET, History, Operation

__all__ = ["DeadEnd", "Explanation", "explain"]

DEFAULT_BUDGET = 200_000
END = -1            # in a dead end's refusals: the final state, not an operation
_KEPT_DEAD_ENDS = 8


@dataclass(frozen=True)
class _State:
    period: str
    used: int
    quota: int
    grace: int
    closed: tuple[tuple[str, int], ...] = ()
    keys: tuple[tuple[str, int], ...] = ()       # idempotency key -> index of the op that ran it

    def ran(self, key: str) -> int | None:
        return next((i for k, i in self.keys if k == key), None)


@dataclass(frozen=True)
class DeadEnd:
    """A serial prefix after which no operation could come next, and why each was refused."""

    order: tuple[int, ...]
    state: dict
    refused: tuple[tuple[int, str], ...]


@dataclass
class Explanation:
    """The search's answer: a serial order, or the orders tried and why they failed."""

    order: tuple[int, ...] | None
    expansions: int
    exhausted: bool = False
    dead_ends: list[DeadEnd] = field(default_factory=list)
    defect: str | None = None        # the checker's own traceback, when it could not search

    @property
    def explained(self) -> bool:
        return self.order is not None

    def to_json(self, history: History) -> dict:
        by_index = {op.index: op for op in history.operations}

        def name(i: int) -> str:
            # -1 stands for the end of the order: the stored state, not a call
            if i == END:
                return "the state stored at the end"
            return by_index[i].describe() if i in by_index else f"#{i} (not in the history)"

        return {
            "explained": self.explained, "search_exhausted": self.exhausted,
            "orders_expanded": self.expansions,
            "serial_order": None if self.order is None else [name(i) for i in self.order],
            "deepest_orders_tried": [
                {"order": [name(i) for i in d.order], "state_after": d.state,
                 "refused_next": [f"{name(i)}: {why}" for i, why in d.refused]}
                for d in self.dead_ends],
        }


def explain(history: History, budget: int = DEFAULT_BUDGET) -> Explanation:
    """Searches for a serial order explaining ``history`` (see the module docstring)."""
    return _Search(history, budget).run()


class _Exhausted(Exception):
    pass


class _Search:
    def __init__(self, history: History, budget: int) -> None:
        self.history = history
        self.ops = sorted(history.operations, key=lambda o: o.index)
        self.position = {op.index: n for n, op in enumerate(self.ops)}
        self.preds = [sum(1 << m for m, other in enumerate(self.ops) if other.precedes(op))
                      for op in self.ops]
        self.full = (1 << len(self.ops)) - 1
        self.budget, self.expansions = budget, 0
        self.refuted: set = set()
        self.dead_ends: list[DeadEnd] = []

    def run(self) -> Explanation:
        s = self.history.start
        start = _State(s.period, s.used, s.quota, s.grace)
        try:
            order = self._walk(0, start, ())
        except _Exhausted:
            return Explanation(None, self.expansions, True, self.dead_ends)
        return Explanation(order, self.expansions, False, self.dead_ends)

    def _walk(self, placed: int, state: _State, order: tuple[int, ...]) -> tuple[int, ...] | None:
        self.expansions += 1
        if self.expansions > self.budget:
            raise _Exhausted
        placed, state, order = self._place_neutral(placed, state, order)
        if placed == self.full:
            why = self._final_mismatch(state)
            if why is None:
                return order
            self._dead_end(order, state, [(END, why)])
            return None
        memo = (placed, state)
        if memo in self.refuted:
            return None
        refused = []
        for n in self._ready(placed):
            nxt, why = _step(state, self.ops[n], self.ops)
            if nxt is None:
                refused.append((self.ops[n].index, why))
                continue
            found = self._walk(placed | 1 << n, nxt, (*order, self.ops[n].index))
            if found is not None:
                return found
        if refused:
            self._dead_end(order, state, refused)
        self.refuted.add(memo)
        return None

    def _ready(self, placed: int) -> list[int]:
        return [n for n in range(len(self.ops))
                if not placed >> n & 1 and self.preds[n] & ~placed == 0]

    def _place_neutral(self, placed: int, state: _State, order: tuple[int, ...]):
        """Places every ready consume that fits and leaves the counter as it was (a denial or a
        replay). Only consumes qualify: a plan change to the terms already in force also leaves
        this state as it was, but it *sets* the terms, so it does not commute with another plan
        change that overlaps it, and placing it early can refute a correct history."""
        moved = True
        while moved:
            moved = False
            for n in self._ready(placed):
                if self.ops[n].kind != CONSUME:
                    continue
                nxt, _ = _step(state, self.ops[n], self.ops)
                if nxt is not None and (nxt.period, nxt.used, nxt.quota, nxt.grace, nxt.closed) == (
                        state.period, state.used, state.quota, state.grace, state.closed):
                    placed, state, order = placed | 1 << n, nxt, (*order, self.ops[n].index)
                    moved = True
        return placed, state, order

    def _final_mismatch(self, state: _State) -> str | None:
        model = {**dict(state.closed), state.period: state.used}
        stored = {p.period: p.used for p in self.history.final_periods}
        if stored and model != stored:
            return f"the serial order ends with counters {model}, the target stored {stored}"
        return None

    def _dead_end(self, order: tuple[int, ...], state: _State, refused: list) -> None:
        end = DeadEnd(order, {"period": state.period, "used": state.used, "quota": state.quota,
                              "grace": state.grace, "closed": dict(state.closed)}, tuple(refused))
        self.dead_ends.append(end)
        self.dead_ends.sort(key=lambda d: -len(d.order))
        del self.dead_ends[_KEPT_DEAD_ENDS:]


def _step(state: _State, op: Operation, ops: list[Operation]) -> tuple[_State | None, str]:
    """The model's next state if ``op`` comes next and saw what it saw, else why it cannot."""
    seen = op.outcome
    if seen is None:
        return None, f"the call failed ({op.error}); the model has no failing operations"
    expected = {CONSUME: ConsumeOutcome, RESET: PeriodRollover, PLAN: PlanChange}.get(op.kind)
    if expected is None or not isinstance(seen, expected):
        return None, (f"a {op.kind!r} call answered {type(seen).__name__}: the model knows "
                      "consume, reset and plan calls answering their own outcome")
    if op.kind == CONSUME:
        return _consume(state, op, seen, ops)
    if op.kind == RESET:
        if (seen.closed_period, seen.closed_used) != (state.period, state.used):
            return None, (f"closed {seen.closed_period} at used={seen.closed_used}, but here the open "
                          f"period is {state.period} at used={state.used}")
        if seen.opened_period == state.period or seen.opened_period in dict(state.closed):
            return None, f"opened period {seen.opened_period}, which already had usage"
        return replace(state, period=seen.opened_period, used=0,
                       closed=(*state.closed, (state.period, state.used))), ""
    if (seen.period, seen.used) != (state.period, state.used):
        return None, (f"saw period {seen.period} at used={seen.used}, but here it is "
                      f"{state.period} at used={state.used}")
    quota, grace = op.args.get("quota"), op.args.get("grace")
    if (quota, grace) != (seen.quota, seen.grace):
        return None, f"asked for quota={quota}+{grace} but the plan now says {seen.quota}+{seen.grace}"
    return replace(state, quota=quota, grace=grace), ""


def _consume(state: _State, op: Operation, seen: ConsumeOutcome,
             ops: list[Operation]) -> tuple[_State | None, str]:
    key, amount = op.args.get("key"), op.args.get("amount")
    if not isinstance(amount, int) or amount <= 0:
        return None, f"asked to consume {amount!r}: the model consumes a positive whole amount"
    first = state.ran(key)
    if first is not None:
        earlier = next(o for o in ops if o.index == first).outcome
        if (seen.granted, seen.used, seen.period) != (earlier.granted, earlier.used, earlier.period):
            return None, (f"key {key} already ran as #{first} "
                          f"({'granted' if earlier.granted else 'denied'} used={earlier.used}); a retry "
                          f"must answer the same and count nothing")
        return state, ""
    fits = state.used + amount <= state.quota + state.grace
    used = state.used + amount if fits else state.used
    expected = (fits, used, state.period, state.quota, state.grace)
    if (seen.granted, seen.used, seen.period, seen.quota, seen.grace) != expected:
        verdict = "granted" if fits else "denied"
        return None, (f"here it would be {verdict} at used={used} of {state.quota}+{state.grace} "
                      f"in {state.period}")
    return replace(state, used=used, keys=(*state.keys, (key, op.index))), ""


def records_by_period(history: History) -> dict[str | None, int]:
    """The granted amounts of the stored consumption records, per period."""
    totals: dict[str | None, int] = defaultdict(int)
    for record in history.final_records:
        if record.granted:
            totals[record.period] += record.amount
    return dict(totals)
