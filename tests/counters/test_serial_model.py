"""The serial-order checker never refutes a correct history (no database).

Hypothesis writes a serial run of consumes (with retried keys), resets and plan changes, plays
it on an independent model of the counter to get what each call saw and what is stored, then
widens each call into an interval around its serial point, so that neighbouring calls overlap
as they do under load, and numbers the calls in completion order as the recorder does. Such a
history is correct by construction: the checker must explain it. This is how a shortcut in the
search that refutes correct histories (a plan change to the terms already in force placed
early as if it changed nothing) shows up without a loaded machine.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.counters import (
    ConsumeOutcome,
    History,
    Operation,
    PeriodRollover,
    PeriodUsage,
    PlanChange,
    UsageRecord,
    check_history,
)

START = PeriodUsage("p0", 0, 3, 1, False)
SPACING = 10  # serial points are SPACING apart; a call may reach up to 4 points either side

calls = st.one_of(
    st.tuples(st.just("consume"), st.integers(1, 3), st.integers(0, 3)),
    st.tuples(st.just("reset"), st.just(0), st.just(0)),
    st.tuples(st.just("plan"), st.integers(0, 6), st.integers(0, 2)),
)
widths = st.tuples(st.integers(0, 4 * SPACING), st.integers(0, 4 * SPACING))


def serial_run(steps):
    """What each call saw, the stored periods and the records, when ``steps`` run one by one."""
    period, used, quota, grace = 0, START.used, START.quota, START.grace
    closed, first, records, seen = [], {}, [], []
    for kind, a, b in steps:
        label = f"p{period}"
        if kind == "consume":
            key = f"k{b}"
            if key in first:
                o = first[key]
                seen.append(ConsumeOutcome(o.granted, o.used, o.quota, o.grace, o.period, True))
                continue
            fits = used + a <= quota + grace
            used += a if fits else 0
            first[key] = ConsumeOutcome(fits, used, quota, grace, label)
            seen.append(first[key])
            records.append(UsageRecord(key, a, fits, label))
        elif kind == "reset":
            seen.append(PeriodRollover(label, used, f"p{period + 1}"))
            closed.append(PeriodUsage(label, used, quota, grace, True))
            period, used = period + 1, 0
        else:
            seen.append(PlanChange(label, used, a, b))
            quota, grace = a, b
    return seen, [*closed, PeriodUsage(f"p{period}", used, quota, grace, False)], records


def concurrent_history(steps, spans) -> History:
    seen, periods, records = serial_run(steps)
    timed = []
    for n, ((kind, a, b), outcome, (before, after)) in enumerate(zip(steps, seen, spans, strict=True)):
        args = ({"amount": a, "key": f"k{b}"} if kind == "consume" else
                {"quota": a, "grace": b} if kind == "plan" else {})
        point = (n + 4) * SPACING
        timed.append((kind, args, point - before, point + after + 1, outcome))
    timed.sort(key=lambda t: t[3])  # the recorder numbers calls as they complete
    ops = [Operation(i, i % 4, kind, args, start, end, outcome)
           for i, (kind, args, start, end, outcome) in enumerate(timed)]
    return History(ops, START, periods, records)


@settings(max_examples=400, deadline=None, database=None)
@given(data=st.data())
def test_every_serial_run_widened_into_overlapping_calls_is_explained(data):
    steps = data.draw(st.lists(calls, min_size=1, max_size=14), label="serial run")
    spans = data.draw(st.lists(widths, min_size=len(steps), max_size=len(steps)), label="widths")
    history = concurrent_history(steps, spans)
    found = check_history(history, "a correct history")
    assert sorted(found.order) == sorted(op.index for op in history.operations)
