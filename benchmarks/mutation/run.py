"""A mutation score per family: plant SQL mistakes in the reference, see which gates notice.

    .venv/bin/python benchmarks/mutation/run.py --sample 6          # every family, one command
    .venv/bin/python benchmarks/mutation/run.py --family counters --mutant constant-3f533179
    .venv/bin/python benchmarks/mutation/run.py --family tenant_isolation --mutant security-definer-b8821c3e

A mutant named with ``--mutant`` may come from any family's sources: the second line asks the
isolation suite about a mistake in the counters' SQL (a survivor another family catches).

For each family of the registry (``harness.families``) it lists the mutants of the sources that
family judges (:data:`scope.SOURCES`), draws a sample (every operator represented, reproducible
with ``--seed``), and runs the family's own suite (``scenarios/<family>``, its gates only) against
each mutant. A mutant is a copy of ``reference_impl/`` with one edit, imported ahead of the real
package (``PYTHONPATH``, ``--import-mode=append``), so migrations, adapter and API all see it.

What a mutant costs, and what keeps it small:

- one embedded server for the whole command (``dsn`` backend); the migrated template is kept on
  it by a hash of the migrations, so a mutant of adapter code reuses the clean one and only a
  mutant of a migration migrates again (its template is dropped after its run);
- only the family's suite and gates; the first failed test stops the run (``--maxfail=1``: one
  failure is the kill), and the test files run cheapest first, by their time on the clean run,
  so a kill comes early; only a survivor pays for the whole suite.

Verdicts, read from the gate packets the ``harness`` command line builds:

- **killed**: an item the clean reference meets turns failed (the suites caught the mistake);
- **killed-error**: an item turns error or missing: the mutant broke setup (a migration that no
  longer applies, a query with a parameter too few), caught, but by no check of the family;
- **timeout**: the run exceeded ``--timeout`` (counted as killed: the mistake hangs the suite);
- **survived**: every item still met; listed with its edit in the report;
- **equivalent**: a mutant that cannot change what the family observes, each with its reason
  (:func:`scope.equivalence`), not run and not counted.

The score is killed / (mutants run), per family and per operator. Results go to
``reports/mutation/`` (``report.md`` for a reviewer, ``report.json`` for tools); nothing there
is committed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from operators import OPERATORS, Mutant, mutants_of  # noqa: E402
from report import render  # noqa: E402
from scope import EXPLAINED, SOURCES, SURVIVOR_NOTES, equivalence  # noqa: E402

from harness.families import family as registered  # noqa: E402

STATUS_KILLED = ("failed", "flaky")
# a family's own pytest options for a mutation run: what measures speed is not a mutant's judge
PYTEST_ARGS = {"counters": ("--deselect", "scenarios/counters/test_throughput.py")}


def sample(mutants: list[Mutant], size: int | None, seed: int) -> list[Mutant]:
    """``size`` mutants, operators taken in turn (so every operator is represented)."""
    if size is None or size >= len(mutants):
        return mutants
    rng = random.Random(seed)
    by_operator: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_operator[m.operator].append(m)
    for group in by_operator.values():
        rng.shuffle(group)
    chosen: list[Mutant] = []
    while len(chosen) < size:
        for name in sorted(by_operator):
            if by_operator[name] and len(chosen) < size:
                chosen.append(by_operator[name].pop())
    return chosen


@dataclass
class Outcome:
    mutant: str
    operator: str
    where: str
    verdict: str                      # killed | killed-error | survived | timeout
    reason: str
    items: dict[str, str]
    seconds: float                    # the whole mutant: copy, suite, packets
    suite_seconds: float              # of which the pytest run


@dataclass(frozen=True)
class Run:
    """One family's suite against one copy of the reference (clean or a mutant)."""

    family: str
    dsn: str
    work: Path
    timeout: float

    @property
    def gates(self) -> tuple[str, ...]:
        return registered(self.family).gates

    @property
    def items(self) -> tuple[str, ...]:
        return registered(self.family).items

    def env(self, folder: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("HARNESS_RUN_ID", "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST")}
        env.update(HARNESS_BACKEND="dsn", HARNESS_DSN=self.dsn, PYTHONPATH=str(folder),
                   HARNESS_LOAD_PROFILE="bite")
        env.update(registered(self.family).bite_env)
        return env

    def __call__(self, mutant: Mutant | None, order: tuple[str, ...] = (),
                 stop_early: bool = False) -> tuple[dict[str, str], str, float, dict[str, float]]:
        """(item statuses, output tail, seconds of the suite, seconds per test file)."""
        folder = self.work / (mutant.id if mutant else "reference")
        target = _shadow(folder, mutant)
        env = self.env(folder)
        results, packets, junit = folder / "results", folder / "packets", folder / "junit.xml"
        suite = [str(ROOT / "scenarios" / self.family / f) for f in order] or [str(ROOT / "scenarios" / self.family)]
        command = [sys.executable, "-m", "pytest", *suite, "-q", "-p", "no:randomly",
                   "-p", "no:cacheprovider", "--import-mode=append", "--rootdir", str(ROOT),
                   "--harness-target", str(target), "--alluredir", str(results),
                   "--junitxml", str(junit), *PYTEST_ARGS.get(self.family, ())]
        if stop_early:
            command += ["--maxfail=1"]            # one failing test is the kill
        for gate in self.gates:
            command += ["--harness-gate", gate]
        t0 = time.monotonic()
        try:
            done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            shutil.rmtree(folder, ignore_errors=True)
            return {}, "timeout", time.monotonic() - t0, {}
        suite_seconds = time.monotonic() - t0
        # every gate's packet from one interpreter: a start of the harness per gate cost seconds
        builds = [["packet", "build", "--results", str(results), "--gate", gate, "--target", str(target),
                   "--out", str(packets), "--catalog", str(ROOT / "gates.yaml"), "--no-allure", "-q"]
                  for gate in self.gates]
        subprocess.run([sys.executable, "-c", "import sys, json; from harness.cli import main; "
                        "[main(a) for a in json.loads(sys.argv[1])]", json.dumps(builds)],
                       cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
        items: dict[str, str] = {}
        for gate in self.gates:
            packet = packets / gate / "packet.json"
            if packet.is_file():
                items.update({i["id"]: i["status"] for i in json.loads(packet.read_text())["items"]
                              if i["id"] in self.items})
        per_file = _file_seconds(junit, self.family)
        shutil.rmtree(folder, ignore_errors=True)
        return items, done.stdout[-1500:] + done.stderr[-500:], suite_seconds, per_file


def _shadow(folder: Path, mutant: Mutant | None) -> Path:
    """A copy of reference_impl (with the mutant's edit) and the reference spec beside it."""
    shutil.copytree(ROOT / "reference_impl", folder / "reference_impl",
                    ignore=shutil.ignore_patterns("__pycache__", "variants"))
    for name in ("target.yaml", "gates.yaml", "waivers.yaml", "risks.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder / name)
    # data the spec names relative to itself (standards.seeds): shared, never mutated
    (folder / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    if mutant is not None:
        file = folder / mutant.path
        file.write_text(mutant.apply(file.read_text(encoding="utf-8")), encoding="utf-8")
    return folder / "target.yaml"


def _file_seconds(junit: Path, family: str) -> dict[str, float]:
    """Seconds per test file of the family, from pytest's JUnit XML (classname is the module)."""
    if not junit.is_file():
        return {}
    seconds: dict[str, float] = defaultdict(float)
    prefix = f"scenarios.{family}."
    for case in ElementTree.parse(junit).iter("testcase"):
        module = case.get("classname", "")
        if module.startswith(prefix):
            seconds[module[len(prefix):].split(".")[0] + ".py"] += float(case.get("time", 0))
    return dict(seconds)


def _judge(mutant: Mutant, clean: dict[str, str], items: dict[str, str], log: str,
           seconds: float, suite_seconds: float) -> Outcome:
    met = {i for i, s in clean.items() if s == "met"}
    turned = {i: items.get(i, "missing") for i in met if items.get(i) != "met"}
    if log == "timeout":
        verdict, reason = "timeout", "the gate run exceeded its time limit (counted as killed)"
    elif any(s in STATUS_KILLED for s in turned.values()):
        verdict, reason = "killed", ", ".join(f"{i} {s}" for i, s in sorted(turned.items()) if s in STATUS_KILLED)
    elif turned:        # an error, or items left missing (never by an early stop: see stop_early)
        verdict, reason = "killed-error", ", ".join(f"{i} {s}" for i, s in sorted(turned.items()))
    else:
        verdict, reason = "survived", "every item the reference meets stayed met"
    return Outcome(mutant.id, mutant.operator, mutant.describe(), verdict, reason, turned,
                   round(seconds, 1), round(suite_seconds, 1))


def _templates(dsn: str) -> set[str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return {name for (name,) in conn.execute(
            "select datname from pg_database where datname like 'harness\\_tpl\\_%'").fetchall()}


def _drop_templates(dsn: str, names: set[str]) -> None:
    """A migration mutant's template: built for one run, dropped after it (disk, not speed)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def family_mutants(family: str, operators: tuple[str, ...]) -> list[Mutant]:
    return [m for path in SOURCES[family]
            for m in mutants_of(path, (ROOT / path).read_text(encoding="utf-8"), operators)]


def run_family(family: str, size: int | None, seed: int, jobs: int, dsn: str, work: Path,
               timeout: float, operators: tuple[str, ...], progress: Callable[[str], None],
               only: tuple[str, ...] = ()) -> dict:
    mutants = [m for m in family_mutants(family, operators) if not only or m.id in only]
    if only:   # a mutant named by id may come from another family's sources: any suite may judge it
        known = {m.id for m in mutants}
        for other in SOURCES:
            for m in family_mutants(other, operators):
                if m.id in only and m.id not in known:
                    mutants.append(m)
                    known.add(m.id)
    reasons = {m.id: equivalence(ROOT, m, family) for m in mutants}
    equivalent = [m for m in mutants if reasons[m.id]]
    candidates = [m for m in mutants if not reasons[m.id]]
    chosen = sample(candidates, size, seed)
    run = Run(family, dsn, work, timeout)
    started = time.monotonic()
    clean, log, _, per_file = run(None)
    clean_seconds = time.monotonic() - started
    if not any(s == "met" for s in clean.values()):
        raise SystemExit(f"mutation: the clean reference meets no {family} item; fix that first\n{log}")
    # a test that fails on the clean reference would stop a --maxfail=1 run early and leave
    # the items after it missing: a false kill. Such a family runs every test of every mutant.
    stop_early = all(s == "met" for s in clean.values())
    order = tuple(sorted(per_file, key=per_file.get))
    progress(f"{family}: clean reference {dict(Counter(clean.values()))} in {clean_seconds:.0f} s; "
             f"{len(chosen)} of {len(candidates)} mutants ({len(equivalent)} equivalent), {jobs} at a time"
             + ("" if stop_early else "; every test of every mutant (the clean reference is not all met)"))
    kept = _templates(dsn)

    def one(m: Mutant) -> Outcome:
        t0 = time.monotonic()
        items, out, suite_seconds, _ = run(m, order, stop_early)
        outcome = _judge(m, clean, items, out, time.monotonic() - t0, suite_seconds)
        progress(f"  {outcome.verdict:12} {outcome.seconds:5.0f}s {m.describe()}")
        if jobs == 1:
            _drop_templates(dsn, _templates(dsn) - kept)
        return outcome

    mutants_started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, chosen))
    mutant_seconds = time.monotonic() - mutants_started
    _drop_templates(dsn, _templates(dsn) - kept)
    killed = sum(o.verdict in ("killed", "killed-error", "timeout") for o in outcomes)
    per_operator: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        per_operator[o.operator][o.verdict] += 1
    for m in equivalent:
        per_operator[m.operator]["equivalent"] += 1
    # the written explanations serve every family: stale only when no family's sources make it
    generated = {m.id for f in SOURCES for m in family_mutants(f, tuple(OPERATORS))}
    return {
        "family": family, "gates": list(registered(family).gates), "sources": list(SOURCES[family]),
        "clean_reference": clean, "mutants_total": len(mutants), "mutants_run": len(outcomes),
        "sampled_from": len(candidates), "seed": seed, "killed": killed,
        "score": round(killed / len(outcomes), 3) if outcomes else None,
        "seconds": round(time.monotonic() - started, 1), "clean_seconds": round(clean_seconds, 1),
        "mutant_seconds": round(mutant_seconds, 1), "order": list(order),
        "per_operator": {k: dict(v) for k, v in sorted(per_operator.items())},
        "outcomes": [{**asdict(o), "note": SURVIVOR_NOTES.get(o.mutant, "")} for o in outcomes],
        "equivalent": [{"mutant": m.id, "where": m.describe(), "reason": reasons[m.id]} for m in equivalent],
        "stale_explanations": sorted(m for m in EXPLAINED if m not in generated),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", choices=sorted(SOURCES),
                        help="a family to score (repeatable; default: all nine, one at a time)")
    parser.add_argument("--sample", type=int, default=None,
                        help="at most this many mutants per family (operators in turn); default all")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--jobs", type=int, default=1,
                        help="mutants at a time (default 1: the suites measure races and latency)")
    parser.add_argument("--operator", action="append", choices=sorted(OPERATORS),
                        help="only these operators (repeatable; default all)")
    parser.add_argument("--mutant", action="append",
                        help="only the mutant with this id (repeatable; ids from --list)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per gate run")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--out", default=str(ROOT / "reports" / "mutation"))
    args = parser.parse_args(argv)
    families = args.family or list(SOURCES)
    operators = tuple(args.operator or OPERATORS)
    if args.list:
        for family in families:
            for m in family_mutants(family, operators):
                reason = equivalence(ROOT, m, family)
                print(f"{family:16} {m.id:28} {m.describe()}" + (f"  [equivalent: {reason}]" if reason else ""))
        return 0
    from tests.bite import shared_server

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report = {"command": " ".join(["benchmarks/mutation/run.py", *(argv if argv is not None else sys.argv[1:])]),
              "seed": args.seed, "seconds": 0.0, "families": []}
    with shared_server() as dsn, tempfile.TemporaryDirectory(prefix="harness-mutants-") as work:
        for family in families:
            report["families"].append(run_family(family, args.sample, args.seed, args.jobs, dsn, Path(work),
                                                 args.timeout, operators,
                                                 lambda line: print(line, file=sys.stderr, flush=True),
                                                 tuple(args.mutant or ())))
            report["seconds"] = round(time.monotonic() - started, 1)
            (out / "report.json").write_text(json.dumps(report, indent=2))
            (out / "report.md").write_text(render(report))
    print(render(report))
    print(f"mutation: report in {out / 'report.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
