"""Contract fuzzing of every operation of a published OpenAPI, with schemathesis, without its
pytest integration (so it runs wherever a schema object can be built, e.g. from a fixture).

:func:`fuzz_operations` draws ``max_examples`` positive and negative cases per operation with
schemathesis's strategies under Hypothesis, sends each with the given headers and runs every
registered check on the answer (schemathesis's standard checks and the ones registered with
``@schemathesis.check``, such as :mod:`harness.api.checks`). It returns the failures per
operation label and how many cases each operation ran, so an empty run cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

__all__ = ["FuzzReport", "fuzz_operations"]


@dataclass
class FuzzReport:
    cases: dict[str, int] = field(default_factory=dict)          # operation label -> cases sent
    failures: dict[str, str] = field(default_factory=dict)       # operation label -> what failed

    def summary(self) -> str:
        return "\n".join(f"{label}: {n} cases" + (" FAILED" if label in self.failures else "")
                         for label, n in sorted(self.cases.items()))


def fuzz_operations(schema: Any, headers: Mapping[str, str], *, max_examples: int = 10,
                    prepare: Callable[[Any], None] | None = None,
                    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
                    ) -> FuzzReport:
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        report.cases.setdefault(label, 0)
        for mode in modes:
            try:
                _fuzz_one(operation, mode, headers, max_examples, prepare, report)
            except Unsatisfiable:
                continue  # no case of this mode exists (e.g. nothing to make invalid)
            # schemathesis reports failed checks as a FailureGroup, a BaseExceptionGroup (not an
            # Exception): without it here a target's failure escapes as a harness error
            except (Exception, BaseExceptionGroup) as exc:  # the shrunk failure of this operation
                report.failures[label] = f"[{mode.value}] {type(exc).__name__}: {exc}"[:4000]
                break
    return report


def _fuzz_one(operation: Any, mode: GenerationMode, headers: Mapping[str, str], max_examples: int,
              prepare: Callable[[Any], None] | None, report: FuzzReport) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if prepare is not None:
            prepare(case)
        report.cases[operation.label] += 1
        case.call_and_validate(headers=dict(headers))

    run()
