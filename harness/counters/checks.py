"""The counter checks: plain functions that raise :class:`CounterFailure` with the evidence.

- :func:`check_history` judges any concurrent history: every call answered, nothing negative,
  no grant above the quota in force where it counted, every period's stored counter equal to
  the granted amounts of its consumption records, every idempotency key stored once, and some
  serial order (:func:`harness.counters.serial.explain`) explaining all of it.
- :func:`check_race` adds what a plain barrier race must show: exactly ``min(requests, Q)``
  grants when every request asks the same amount.
- :func:`check_boundary` judges a sequential walk up to and over the limit.

Every problem is collected before raising once, and the failure carries the timeline (which
worker did what, in what order, what it saw), the history as JSON and the serial orders tried.
"""

from __future__ import annotations

import json
import traceback
from collections import Counter
from collections.abc import Sequence

from harness.counters.capability import ConsumeOutcome, CounterFailure, PlanTerms
from harness.counters.history import CONSUME, History
from harness.counters.serial import Explanation, explain, records_by_period

__all__ = ["check_boundary", "check_history", "check_race", "history_problems"]


def history_problems(history: History) -> tuple[list[str], Explanation]:
    """Everything wrong with ``history`` (empty when correct) and the serial-order search.

    Never raises on what the target answered: a history the checks cannot read (a negative or
    missing amount, an unknown key or answer, duplicated or out-of-order calls) is a history
    that nothing explains, so it is a problem of the target; the checker's own exception goes
    with it as a separate section (see :func:`checker_defect`)."""
    try:
        return _problems(history)
    except Exception as exc:  # the target's output is what broke the checker: judge, never crash
        return ([f"the checker could not explain this history ({type(exc).__name__}: {exc}); "
                 "a history nothing explains is a failure of the target"],
                Explanation(None, 0, defect=checker_defect(exc)))


def checker_defect(exc: BaseException) -> str:
    """The checker's own traceback, kept apart from the target's evidence so that a harness bug
    is visible as one (and fixed) while the verdict stays on the target."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _problems(history: History) -> tuple[list[str], Explanation]:
    problems = [f"{op.describe()}: the call failed" for op in history.operations if op.error]
    for op in history.operations:
        seen = op.outcome
        if isinstance(seen, ConsumeOutcome):
            if seen.used < 0:
                problems.append(f"{op.describe()}: a negative counter")
            if seen.granted and not seen.replayed and seen.used > seen.quota + seen.grace:
                problems.append(f"{op.describe()}: granted above the quota in force "
                                f"({seen.used} > {seen.quota}+{seen.grace})")
    stored = {p.period: p.used for p in history.final_periods}
    counted = records_by_period(history)
    for period in sorted(set(stored) | set(counted), key=str):
        if stored.get(period, 0) != counted.get(period, 0):
            problems.append(f"period {period}: the counter says {stored.get(period, 0)} but the "
                            f"granted consumption records add up to {counted.get(period, 0)}")
    problems += [f"period {p.period}: a negative counter ({p.used})"
                 for p in history.final_periods if p.used < 0]
    open_periods = [p.period for p in history.final_periods if not p.closed]
    if len(open_periods) != 1:
        problems.append(f"{len(open_periods)} open periods at the end ({open_periods}); exactly one "
                        "must be open")
    twice = [k for k, n in Counter(r.idempotency_key for r in history.final_records).items() if n > 1]
    if twice:
        problems.append(f"idempotency keys stored more than once: {sorted(twice)[:10]}")
    explanation = explain(history)
    if explanation.exhausted:
        problems.append(f"no serial order found within {explanation.expansions} expansions "
                        "(search budget exhausted): the history could not be explained")
    elif not explanation.explained:
        problems.append("no serial order of the calls explains what the workers saw and what "
                        "was stored (see the serial orders tried)")
    return problems, explanation


def check_history(history: History, what: str) -> Explanation:
    """Raises :class:`CounterFailure` unless ``history`` is correct; returns the serial order."""
    problems, explanation = history_problems(history)
    if problems:
        raise _failure(what, history, problems, explanation)
    return explanation


def check_race(history: History, requests: int, amount: int, terms: PlanTerms, what: str) -> Explanation:
    """A barrier race of ``requests`` equal consumes: the history is correct and exactly
    ``min(requests, limit // amount)`` were granted."""
    problems, explanation = history_problems(history)
    granted = sum(1 for op in history.operations
                  if op.kind == CONSUME and isinstance(op.outcome, ConsumeOutcome) and op.outcome.granted)
    expected = min(requests, terms.limit // amount)
    if granted != expected:
        problems.insert(0, f"{granted} of {requests} consumes of {amount} were granted against a "
                           f"limit of {terms.limit}; exactly {expected} must be")
    if problems:
        raise _failure(what, history, problems, explanation)
    return explanation


def check_boundary(outcomes: Sequence[tuple[int, ConsumeOutcome]], terms: PlanTerms, what: str) -> None:
    """Sequential consumes ``(amount, outcome)`` from an empty period: each is granted iff it
    fits whole in ``quota + grace``, the counter moves by exactly the granted amount, and a
    grant past the quota is flagged as grace."""
    used, problems = 0, []
    for n, (amount, seen) in enumerate(outcomes):
        fits = used + amount <= terms.limit
        used += amount if fits else 0
        if (seen.granted, seen.used) != (fits, used):
            problems.append(f"consume #{n} of {amount} at used={used - (amount if fits else 0)}: "
                            f"expected {'granted' if fits else 'denied'} with used={used}, saw "
                            f"{'granted' if seen.granted else 'denied'} with used={seen.used}")
        elif seen.granted and seen.in_grace != (used > terms.quota):
            problems.append(f"consume #{n}: in_grace={seen.in_grace} at used={used} of quota "
                            f"{terms.quota}")
        elif seen.remaining != max(terms.quota - used, 0):
            problems.append(f"consume #{n}: remaining={seen.remaining}, expected "
                            f"{max(terms.quota - used, 0)}")
    if problems:
        raise CounterFailure(f"{what}: {len(problems)} boundary violation(s)",
                             [("problems", "\n".join(problems)),
                              ("consumes", "\n".join(f"{a} -> {o}" for a, o in outcomes))])


def _failure(what: str, history: History, problems: list[str], explanation: Explanation) -> CounterFailure:
    sections = [("problems", "\n".join(problems))]
    defects = [explanation.defect] if explanation.defect else []
    for title, render in (("timeline (worker, call, what it saw)", history.timeline),
                          ("serial orders tried",
                           lambda: json.dumps(explanation.to_json(history), indent=2, default=str)),
                          ("history", lambda: json.dumps(history.to_json(), indent=2, default=str))):
        try:
            sections.append((title, render()))
        except Exception as exc:  # the evidence is still written, raw, and the defect kept
            sections.append((title, repr(history) if title == "history" else "(could not render)"))
            defects.append(checker_defect(exc))
    if defects:
        sections.append(("checker defect (a harness bug, not the verdict)", "\n".join(defects)))
    return CounterFailure(
        f"{what}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        sections)
