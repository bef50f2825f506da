"""Proof every family bites, driven by the registry of families (:mod:`harness.families`).

For each family: the clean reference meets every item the family feeds, with no test of those
items skipped (and the gates its suite alone decides are GO); each known-bad variant its family
declares fails exactly the items it must (their gates NO-GO) while the others stay met. The
verdicts are the gate packets' own (:func:`tests.bite.run_family`: ``scenarios/<family>`` run
against the target, its packets built as ``harness packet build`` builds them, with the
catalog's decision rules).

A family's runs share one embedded server (a variant that changes cluster-wide state gets its
own); :data:`RUNS_AT_ONCE` runs go at a time over all families, longest first (the chains,
the clean references, the variants), started when the first test asks, so the cores are never
idle; a family whose runs measure speed runs them one after the other. ``-k <family>`` runs one family's cases only.

A family may also declare a variant of a real schema (``<real>/<variant>``, under
``fixtures/targets/<real>/variants``): it fails its items, and the clean real schema, run the
same narrowed way, meets them (``-k basejump`` runs those cases only).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import allure
import pytest

from harness.baselines import BASELINE_GATES
from harness.families import Family, Variant, families, family
from tests.bite import GateVerdict, run_family, shared_server, target_path

pytestmark = pytest.mark.slow

RUNS_AT_ONCE = int(os.environ.get("HARNESS_BITE_RUNS", "3"))
REFERENCE = "reference"

Verdicts = dict[str, GateVerdict]


def _gate(item: str) -> str:
    return item.split(".", 1)[0]


def real_variants(fam: Family, real: str) -> dict[str, Variant]:
    """The family's variants of the real schema ``real`` (named ``<real>/<variant>``)."""
    return {name: v for name, v in fam.variants.items() if name.startswith(real + "/")}


def narrowing(fam: Family, target: str) -> Variant | None:
    """What narrows a run: the variant's own declaration; for a clean real schema, that of its
    first variant (the clean run asks the same tests what its variants are asked)."""
    if target in fam.variants:
        return fam.variants[target]
    return next(iter(real_variants(fam, target).values()), None)


def gates_of(fam: Family, variant: Variant | None) -> tuple[str, ...]:
    """The gates a run builds packets for: the family's, or what the variant narrows it to."""
    if variant is None:
        return fam.gates
    if variant.gates is not None:
        return variant.gates
    if variant.stays_met:
        return tuple(sorted({_gate(i) for i in variant.fails | variant.stays_met}))
    return fam.gates


def in_chain(fam: Family, target: str) -> bool:
    """Whether the run goes in its family's chain of one-at-a-time runs (runs that measure time)."""
    variant = fam.variants.get(target)
    serial = variant.serial if variant is not None else None
    return fam.serial_runs if serial is None else serial


def expected_statuses(fam: Family, variant: Variant) -> dict[str, str]:
    """item -> the status the variant's run must give it."""
    if variant.stays_met is not None:
        return {**dict.fromkeys(variant.stays_met, "met"), **dict.fromkeys(variant.fails, "failed")}
    gates = gates_of(fam, variant)
    return {i: "failed" if i in variant.fails else "met" for i in fam.items if _gate(i) in gates}


class BiteRuns:
    """Every selected run, :data:`RUNS_AT_ONCE` at a time; each test waits for its own."""

    def __init__(self, out, cases: list[tuple[str, str]]) -> None:
        self.out = out
        self.stack = ExitStack()
        self.servers: dict[str, str] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=RUNS_AT_ONCE)
        self.futures: dict[tuple[str, str], Future] = {}
        by_family: dict[str, list[str]] = {}
        for name, target in cases:
            by_family.setdefault(name, []).append(target)
        self.reference_lock = threading.Lock()
        self.references: dict[str, Verdicts] = {}
        # longest first, so that no long run starts last beside idle cores: the chains of
        # one-at-a-time runs (the load family's: a minute of locust runs that use a core at most
        # half), then each family's clean reference (its whole suite), then the variants (a
        # variant that compares with its reference's packet waits for a run started before it)
        chains, references, variants = [], [], []
        for name, targets in by_family.items():
            fam = family(name)
            chained = {t: Future() for t in sorted(targets, key=lambda t: t != REFERENCE)
                       if in_chain(fam, t)}
            if chained:
                self.futures.update({(name, t): f for t, f in chained.items()})
                chains.append((fam, chained))
            for target in targets:
                if target not in chained:
                    (references if target == REFERENCE else variants).append((fam, target))
        for fam, chained in chains:
            self.pool.submit(self._in_turn, fam, chained)
        for fam, target in references + variants:
            self.futures[(fam.name, target)] = self.pool.submit(self._run, fam, target)

    def _dsn(self, fam: Family) -> str:
        with self.lock:
            if fam.name not in self.servers:
                self.servers[fam.name] = self.stack.enter_context(shared_server())
            return self.servers[fam.name]

    def _run(self, fam: Family, target: str) -> Verdicts:
        variant = narrowing(fam, target)
        private = variant is not None and variant.private_server
        args = () if variant is None else (
            *(("-k", variant.select) if variant.select else ()), *variant.pytest_args)
        env = {**fam.bite_env, **(fam.variant_env if target in fam.variants else {})}
        if variant is not None and variant.baseline:
            self._reference(fam)
            env[variant.baseline] = str(self._packets(fam, REFERENCE) / BASELINE_GATES[variant.baseline])
        return run_family(fam.name, target_path(target), gates_of(fam, variant),
                          self.out / f"{fam.name}-{target}", dsn=None if private else self._dsn(fam),
                          pytest_args=args, env=env)

    def _packets(self, fam: Family, target: str) -> Path:
        return self.out / f"{fam.name}-{target}" / "packets"

    def _reference(self, fam: Family) -> Verdicts:
        """The clean reference's run of ``fam`` in this session: the selected one (run before the
        family's variants), else one run here for the variants that compare with it."""
        selected = self.futures.get((fam.name, REFERENCE))
        if selected is not None:
            return selected.result()
        with self.reference_lock:
            if fam.name not in self.references:
                self.references[fam.name] = self._run(fam, REFERENCE)
            return self.references[fam.name]

    def _in_turn(self, fam: Family, chained: dict[str, Future]) -> None:
        for target, future in chained.items():
            try:
                future.set_result(self._run(fam, target))
            except BaseException as exc:  # noqa: BLE001  (handed to the test that waits for it)
                future.set_exception(exc)

    def verdicts(self, name: str, target: str) -> Verdicts:
        return self.futures[(name, target)].result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.stack.close()


REFERENCE_CASES = [(fam.name, REFERENCE) for fam in families()]
VARIANT_CASES = [(fam.name, name) for fam in families() for name in fam.variants]
REAL_CASES = list(dict.fromkeys((fam.name, name.partition("/")[0]) for fam in families()
                                for name in fam.variants if "/" in name))


@pytest.fixture(scope="module")
def bite_runs(tmp_path_factory, request) -> Iterator[BiteRuns]:
    cases = [(item.callspec.params["family_name"], item.callspec.params["target"])
             for item in request.session.items
             if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    runs = BiteRuns(tmp_path_factory.mktemp("bites"), list(dict.fromkeys(cases)))
    yield runs
    runs.close()


def _explain(target: str, verdicts: Verdicts) -> str:
    allure.attach(json.dumps({g: {"decision": v.decision, "items": v.items, "failing tests": v.failing_tests()}
                              for g, v in verdicts.items()}, indent=2),
                  name=f"{target} verdicts", attachment_type=allure.attachment_type.JSON)
    failing = {g: v.failing_tests() for g, v in verdicts.items()}
    return f"failing tests: {failing}\n" + "\n".join(v.log for v in list(verdicts.values())[:1])


def _statuses(verdicts: Verdicts, items) -> dict[str, str | None]:
    return {i: verdicts[_gate(i)].items.get(i) if _gate(i) in verdicts else None for i in items}


@pytest.mark.parametrize(("family_name", "target"), REFERENCE_CASES, ids=[f for f, _ in REFERENCE_CASES])
def test_the_clean_reference_meets_every_item_the_family_feeds(bite_runs, family_name, target):
    """Every item the family feeds has tests, all ran and passed, none was skipped; the gates
    its suite alone decides are GO."""
    fam = family(family_name)
    verdicts = bite_runs.verdicts(family_name, target)
    explanation = _explain(target, verdicts)
    assert _statuses(verdicts, fam.items) == dict.fromkeys(fam.items, "met"), explanation
    skipped = {g: v.skipped(fam.items) for g, v in verdicts.items() if v.skipped(fam.items)}
    assert not skipped, f"skipped tests are never evidence: {skipped}"
    for gate in fam.go_gates:
        assert verdicts[gate].decision == "GO", explanation


@pytest.mark.parametrize(("family_name", "target"), VARIANT_CASES,
                         ids=[f"{f}-{v}" for f, v in VARIANT_CASES])
def test_a_known_bad_variant_fails_exactly_its_items(bite_runs, family_name, target):
    """The variant's mistake fails its items (their gates NO-GO) and the others stay met; the
    tests meant to catch it are among the failing ones."""
    fam = family(family_name)
    variant = fam.variants[target]
    verdicts = bite_runs.verdicts(family_name, target)
    explanation = _explain(target, verdicts)
    expected = expected_statuses(fam, variant)
    assert _statuses(verdicts, expected) == expected, explanation
    for gate in {_gate(i) for i in variant.fails}:
        assert verdicts[gate].decision == "NO-GO", explanation
    tests = {t: s for v in verdicts.values() for item in v.tests.values() for t, s in item.items()}
    for fragment, status in variant.tests.items():
        seen = {t: s for t, s in tests.items() if fragment in t}
        assert seen and set(seen.values()) == {status}, f"{fragment}: {seen}\n{explanation}"


@pytest.mark.parametrize(("family_name", "target"), REAL_CASES, ids=[f"{f}-{t}" for f, t in REAL_CASES])
def test_a_clean_real_schema_meets_the_items_its_variants_fail(bite_runs, family_name, target):
    """The real schema as its authors wrote it meets each item a variant of it must fail, run
    the same way, so the variant's NO-GO is its one mistake and not the schema's."""
    fam = family(family_name)
    items = sorted({i for v in real_variants(fam, target).values() for i in v.fails})
    verdicts = bite_runs.verdicts(family_name, target)
    assert _statuses(verdicts, items) == dict.fromkeys(items, "met"), _explain(target, verdicts)
    skipped = {g: v.skipped(tuple(items)) for g, v in verdicts.items() if v.skipped(tuple(items))}
    assert not skipped, f"skipped tests are never evidence: {skipped}"
