"""Proof the AI data suites bite: each known-bad variant turns its gate NO-GO on the right item,
and the clean reference meets every test item of S05 (but the load-driven query latency), S06
and S07, with nothing skipped.

All runs share one embedded server (``tests/bite.py``); two run at a time, since each is mostly
one pytest process waiting on the database. The verdicts are the gate packets' own.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor

import allure
import pytest

from tests.bite import GateVerdict, run_family, shared_server, target_path

pytestmark = pytest.mark.slow

GATES = ("S05", "S06", "S07")
ITEMS = (
    "S05.ingestion-recovery", "S05.dead-letter-diagnostics", "S05.chunk-traceability",
    "S06.run-state-tracking", "S06.idempotent-tool-writes", "S06.unauthorized-tool-negatives",
    "S06.tool-call-audit", "S06.failure-rollback", "S06.output-schema-conformance",
    "S07.cross-tenant-retrieval-negatives", "S07.retrieval-relevance", "S07.citation-traceability",
    "S07.embedding-versioning", "S07.safety-telemetry",
)
# variant -> the items it must fail; every other item above must stay met
VARIANTS = {
    "ai-retrieval-security-definer": {"S07.cross-tenant-retrieval-negatives"},
    "ai-chunk-fk-without-workspace": {"S05.chunk-traceability"},
    "ai-topk-before-tenant-filter": {"S07.cross-tenant-retrieval-negatives"},
    "ai-tool-retry-without-idempotency-key": {"S06.idempotent-tool-writes"},
    "ai-run-done-to-running": {"S06.run-state-tracking"},
    "ai-retrieval-ignores-model-version": {"S07.embedding-versioning"},
    # without a limit there is no dead letter, so its diagnostics cannot be shown either
    "ai-ingestion-retry-without-attempt-limit": {"S05.ingestion-recovery", "S05.dead-letter-diagnostics"},
    # judged against the clean reference's S07 packet as its baseline (BASELINED)
    "ai-hybrid-text-only": {"S07.retrieval-relevance"},
}
# variant -> the baseline variable that points at the reference run's packet of its gate
BASELINED = {"ai-hybrid-text-only": ("HARNESS_RETRIEVAL_BASELINE", "S07")}


class _Runs:
    """The family's gate runs on one server, two at a time, in the order they are asked for."""

    def __init__(self, dsn: str, out, names: list[str]) -> None:
        self.dsn, self.out = dsn, out
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: dict[str, Future] = {}
        for name in sorted(names, key=lambda n: n != "reference"):
            self.futures[name] = self.pool.submit(self._run, name)

    def _run(self, name: str) -> dict[str, GateVerdict]:
        env = {}
        if name in BASELINED:
            variable, gate = BASELINED[name]
            self.futures["reference"].result()     # submitted first, so it is running already
            env[variable] = str(self.out / "reference" / "packets" / gate)
        return run_family("ai", target_path(name), GATES, self.out / name, dsn=self.dsn, env=env)

    def verdicts(self, name: str) -> dict[str, GateVerdict]:
        return self.futures[name].result()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
    names = list(dict.fromkeys(
        item.callspec.params["target_name"] for item in request.session.items
        if getattr(item, "module", None) is request.module and hasattr(item, "callspec")))
    if any(n in BASELINED for n in names) and "reference" not in names:
        names.insert(0, "reference")     # a baselined variant compares with its packet
    with shared_server() as dsn:
        runs = _Runs(dsn, tmp_path_factory.mktemp("ai-gates"), names)
        yield runs
        runs.pool.shutdown(wait=True, cancel_futures=True)


def _items(verdicts: dict[str, GateVerdict]) -> dict[str, str | None]:
    found = {}
    for verdict in verdicts.values():
        found.update(verdict.items)
    return {item: found.get(item) for item in ITEMS}


def _explain(verdicts: dict[str, GateVerdict]) -> str:
    failing = {g: v.failing_tests() for g, v in verdicts.items()}
    allure.attach(json.dumps({g: {"decision": v.decision, "items": v.items} for g, v in verdicts.items()},
                             indent=2), name="verdicts", attachment_type=allure.attachment_type.JSON)
    return f"failing tests: {failing}\n" + "\n".join(v.log for v in list(verdicts.values())[:1])


@pytest.mark.parametrize("target_name", ["reference"])
def test_the_clean_reference_meets_every_ai_data_item(runs, target_name):
    """Every S05 (but query latency), S06 and S07 test item has tests, and all ran and passed."""
    verdicts = runs.verdicts(target_name)
    explanation = _explain(verdicts)
    assert _items(verdicts) == dict.fromkeys(ITEMS, "met"), explanation
    skipped = {g: v.skipped(ITEMS) for g, v in verdicts.items()}
    assert not any(skipped.values()), f"skipped tests are never evidence: {skipped}"


@pytest.mark.parametrize("target_name", list(VARIANTS))
def test_a_known_bad_variant_is_no_go_on_the_right_item(runs, target_name):
    """The variant's mistake fails its items, and only those; their gate is NO-GO. A baselined
    variant is judged with the clean reference's packet as the previous release."""
    verdicts = runs.verdicts(target_name)
    expected = {i: ("failed" if i in VARIANTS[target_name] else "met") for i in ITEMS}
    assert _items(verdicts) == expected, _explain(verdicts)
    for gate in {i.split(".")[0] for i in VARIANTS[target_name]}:
        assert verdicts[gate].decision == "NO-GO"
