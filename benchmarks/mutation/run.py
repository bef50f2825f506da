"""A mutation score per family: plant SQL mistakes in the reference, see which gates notice.

    .venv/bin/python benchmarks/mutation/run.py --family counters --sample 8 --jobs 2

For each family it lists the mutants of the SQL that family judges (:data:`FAMILIES`: the
migration that creates its tables and functions, and the adapter modules whose SQL carries its
data path), draws a sample (every operator represented, reproducible with ``--seed``), and runs
the family's suites against each mutant on one shared embedded server, ``--jobs`` at a time.
A mutant is a copy of ``reference_impl/`` with one edit, imported ahead of the real package
(``PYTHONPATH``, ``--import-mode=append``), so migrations, adapter and API all see it.

Verdicts, read from the gate packets the ``harness`` command line builds:

- **killed**: an item the clean reference meets turns failed (the suites caught the mistake);
- **killed (error)**: an item turns error or missing: the mutant broke setup (a migration that no
  longer applies), caught, but by no check of the family;
- **survived**: every item still met; listed with its edit in the report;
- **equivalent**: a mutant that cannot change behaviour, with the reason (:func:`equivalence`),
  not run and not counted.

The score is killed / (mutants run), per family and per operator. Results go to
``reports/mutation/`` (``report.md`` for a reviewer, ``report.json`` for tools); nothing there
is committed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from operators import OPERATORS, Mutant, mutants_of  # noqa: E402

MIGRATIONS = "reference_impl/migrations/versions"


@dataclass(frozen=True)
class Family:
    gates: tuple[str, ...]
    sources: tuple[str, ...]           # files whose SQL the family judges
    pytest_args: tuple[str, ...] = ()


FAMILIES = {
    "counters": Family(("S10",), (f"{MIGRATIONS}/0004_entitlements.py",
                                  "reference_impl/entitlements/operations.py"),
                       ("--deselect", "scenarios/counters/test_throughput.py")),
    "ai": Family(("S05", "S06", "S07"), (f"{MIGRATIONS}/0007_ai_data.py", "reference_impl/ai/agent_runs.py",
                                         "reference_impl/ai/ingestion.py", "reference_impl/ai/retrieval.py")),
    "replay": Family(("S00", "S01", "S08", "S09"), (f"{MIGRATIONS}/0008_events.py",
                                                    "reference_impl/events/automation.py",
                                                    "reference_impl/events/consumer.py",
                                                    "reference_impl/events/credentials.py",
                                                    "reference_impl/events/webhooks.py")),
    "tenant_isolation": Family(("S02", "S03"), (f"{MIGRATIONS}/0001_workspaces_users.py",
                                          f"{MIGRATIONS}/0002_memberships.py",
                                          f"{MIGRATIONS}/0003_audit_log.py",
                                          f"{MIGRATIONS}/0006_work_items.py", "reference_impl/rls.py")),
    "standards": Family(("S00", "S01", "S02", "S10"), (f"{MIGRATIONS}/0005_identity_analytics.py",)),
}
STATUS_KILLED = ("failed", "flaky")
STATUS_BROKEN = ("error", "broken", "missing")


def equivalence(mutant: Mutant, family: str) -> str | None:
    """Why ``mutant`` cannot change what ``family``'s gate observes, or None."""
    if mutant.in_downgrade:
        return "in downgrade(): the family's gate never rolls back (the migrations family does)"
    statements = [s.strip() for s in mutant.original.replace("\n", " ").split(";") if s.strip()]
    if mutant.operator == "swap-statements" and all(_is_declaration(s) for s in statements):
        return "two DECLARE entries swapped: declaration order has no effect"
    if mutant.operator == "swap-statements" and _independent_assignments(statements):
        return "two assignments to different variables, neither reading the other: order-free"
    if mutant.operator == "conflict-column" and family != "standards" and _generated_unique(mutant):
        # behaviour only: the schema standards (tenant column conventions) may still object
        return ("the column left in the PRIMARY KEY is generated unique (identity or "
                "gen_random_uuid()) and no foreign key needs the pair: every duplicate is still "
                "refused")
    return None


def _generated_unique(mutant: Mutant) -> bool:
    text = (ROOT / mutant.path).read_text(encoding="utf-8")
    if "PRIMARY KEY" not in text[max(0, mutant.start - 20):mutant.start] or "," in mutant.replacement:
        return False
    column = re.escape(mutant.replacement.strip())
    table = text[text.rfind("CREATE TABLE", 0, mutant.start):mutant.start]
    name = re.match(r"CREATE TABLE\s+(\w+)", table)
    migrations = "".join(f.read_text(encoding="utf-8") for f in (ROOT / MIGRATIONS).glob("*.py"))
    if name is None or re.search(rf"REFERENCES\s+{name.group(1)}\s*\(", migrations):
        return False           # a foreign key needs the composite key: not equivalent
    return bool(re.search(rf"\b{column}\b[^,\n]*(GENERATED ALWAYS AS IDENTITY|DEFAULT gen_random_uuid\(\))",
                          table))


def _independent_assignments(statements: list[str]) -> bool:
    parts = [s.split(":=", 1) for s in statements]
    if len(parts) != 2 or any(len(p) != 2 for p in parts):
        return False
    (left_a, right_a), (left_b, right_b) = ((a.strip(), b) for a, b in parts)
    return left_a != left_b and left_a not in right_b and left_b not in right_a


def _is_declaration(statement: str) -> bool:
    words = statement.split()
    return len(words) >= 2 and words[0].isidentifier() and words[0].upper() not in (
        "SELECT", "UPDATE", "INSERT", "DELETE", "PERFORM", "RAISE", "IF", "RETURN", "EXIT")


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
    verdict: str                      # killed | killed-error | survived | equivalent | timeout
    reason: str
    items: dict[str, str]
    seconds: float


def _shadow(folder: Path, mutant: Mutant | None) -> Path:
    """A copy of reference_impl (with the mutant's edit) and the reference spec beside it."""
    shutil.copytree(ROOT / "reference_impl", folder / "reference_impl",
                    ignore=shutil.ignore_patterns("__pycache__", "variants"))
    for name in ("target.yaml", "gates.yaml", "waivers.yaml", "risks.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder / name)
    if mutant is not None:
        file = folder / mutant.path
        file.write_text(mutant.apply(file.read_text(encoding="utf-8")), encoding="utf-8")
    return folder / "target.yaml"


def _run_gates(family: str, mutant: Mutant | None, dsn: str, work: Path,
               timeout: float, stop_early: bool = True) -> tuple[dict[str, str], str]:
    spec = FAMILIES[family]
    folder = work / (mutant.id if mutant else "reference")
    target = _shadow(folder, mutant)
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_RUN_ID", "PYTEST_ADDOPTS")}
    env.update(HARNESS_BACKEND="dsn", HARNESS_DSN=dsn, PYTHONPATH=str(folder),
               HARNESS_LOAD_PROFILE="bite")
    results, packets = folder / "results", folder / "packets"
    command = [sys.executable, "-m", "pytest", str(ROOT / "scenarios" / family), "-q", "-p", "no:randomly",
               "-p", "no:cacheprovider", "--import-mode=append", "--rootdir", str(ROOT),
               "--harness-target", str(target), "--alluredir", str(results), *spec.pytest_args]
    if mutant is not None and stop_early:
        command += ["--maxfail=1"]            # one failing test is the kill
    for gate in spec.gates:
        command += ["--harness-gate", gate]
    try:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {}, "timeout"
    items: dict[str, str] = {}
    for gate in spec.gates:
        subprocess.run([sys.executable, "-m", "harness", "packet", "build", "--results", str(results),
                        "--gate", gate, "--target", str(target), "--out", str(packets), "--catalog",
                        str(ROOT / "gates.yaml"), "--no-allure", "-q"], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=300, check=False)
        packet = packets / gate / "packet.json"
        if packet.is_file():
            items.update({i["id"]: i["status"] for i in json.loads(packet.read_text())["items"]})
    shutil.rmtree(folder, ignore_errors=True)
    return items, done.stdout[-1500:]


def _judge(mutant: Mutant, clean: dict[str, str], items: dict[str, str], log: str,
           seconds: float) -> Outcome:
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
    return Outcome(mutant.id, mutant.operator, mutant.describe(), verdict, reason, turned, round(seconds, 1))


def run_family(family: str, size: int | None, seed: int, jobs: int, dsn: str, work: Path,
               timeout: float, operators: tuple[str, ...], progress,
               only: tuple[str, ...] = ()) -> dict:
    spec = FAMILIES[family]
    mutants = [m for path in spec.sources
               for m in mutants_of(path, (ROOT / path).read_text(encoding="utf-8"), operators)
               if not only or m.id in only]
    equivalent = [(m, equivalence(m, family)) for m in mutants if equivalence(m, family)]
    candidates = [m for m in mutants if not equivalence(m, family)]
    chosen = sample(candidates, size, seed)
    started = time.monotonic()
    clean, log = _run_gates(family, None, dsn, work, timeout)
    if not clean or not any(s == "met" for s in clean.values()):
        raise SystemExit(f"mutation: the clean reference meets no {family} item; fix that first\n{log}")
    # a test that fails on the clean reference would stop a --maxfail=1 run early and leave
    # the items after it missing: a false kill. Such a family runs every test of every mutant.
    stop_early = not any(s in STATUS_KILLED + ("error", "broken") for s in clean.values())
    progress(f"{family}: clean reference {Counter(clean.values())}; {len(chosen)} of "
             f"{len(candidates)} mutants, {jobs} at a time"
             + ("" if stop_early else " (every test: the clean reference is not all met)"))

    def one(m: Mutant) -> Outcome:
        t0 = time.monotonic()
        items, out = _run_gates(family, m, dsn, work, timeout, stop_early)
        outcome = _judge(m, clean, items, out, time.monotonic() - t0)
        progress(f"  {outcome.verdict:12} {outcome.seconds:6.0f}s {m.describe()}")
        return outcome

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, chosen))
    killed = sum(o.verdict in ("killed", "killed-error", "timeout") for o in outcomes)
    per_operator: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        per_operator[o.operator][o.verdict] += 1
    for m, _ in equivalent:
        per_operator[m.operator]["equivalent"] += 1
    return {
        "family": family, "gates": list(spec.gates), "sources": list(spec.sources),
        "clean_reference": clean, "mutants_total": len(mutants), "mutants_run": len(outcomes),
        "sampled_from": len(candidates), "seed": seed, "killed": killed,
        "score": round(killed / len(outcomes), 3) if outcomes else None,
        "seconds": round(time.monotonic() - started, 1),
        "per_operator": {k: dict(v) for k, v in sorted(per_operator.items())},
        "outcomes": [asdict(o) for o in outcomes],
        "equivalent": [{"mutant": m.id, "where": m.describe(), "reason": r} for m, r in equivalent],
    }


def render(report: dict) -> str:
    lines = ["# Mutation report", "",
             f"Command: `{report['command']}`  ", f"Took {report['seconds']:.0f} s on {os.cpu_count()} cores.", "",
             "| family | gates | score | killed | run | sampled from | equivalent | time |",
             "|---|---|---|---|---|---|---|---|"]
    for f in report["families"]:
        score = "n/a" if f["score"] is None else f"{f['score']:.0%}"
        lines.append(f"| {f['family']} | {' '.join(f['gates'])} | {score} | {f['killed']} | {f['mutants_run']} "
                     f"| {f['sampled_from']} | {len(f['equivalent'])} | {f['seconds']:.0f} s |")
    for f in report["families"]:
        lines += ["", f"## {f['family']}", "", "| operator | killed | killed (error) | timeout | survived | equivalent |",
                  "|---|---|---|---|---|---|"]
        for op, counts in f["per_operator"].items():
            lines.append(f"| {op} | {counts.get('killed', 0)} | {counts.get('killed-error', 0)} | "
                         f"{counts.get('timeout', 0)} | {counts.get('survived', 0)} | {counts.get('equivalent', 0)} |")
        survivors = [o for o in f["outcomes"] if o["verdict"] == "survived"]
        lines += ["", f"Survivors ({len(survivors)}):", ""]
        lines += [f"- `{o['mutant']}` {o['where']}" for o in survivors] or ["- none"]
        lines += ["", "Killed:", ""]
        lines += [f"- `{o['mutant']}` {o['verdict']}: {o['reason']} ({o['where']})"
                  for o in f["outcomes"] if o["verdict"] != "survived"] or ["- none"]
        reasons = Counter(e["reason"] for e in f["equivalent"])
        lines += ["", "Equivalent, not run:", ""]
        lines += [f"- {n} x {reason}" for reason, n in reasons.items()] or ["- none"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES),
                        help="a family to score (repeatable; default: all)")
    parser.add_argument("--sample", type=int, default=None,
                        help="at most this many mutants per family (operators in turn); default all")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--jobs", type=int, default=2, help="gate runs at a time (default 2)")
    parser.add_argument("--operator", action="append", choices=sorted(OPERATORS),
                        help="only these operators (repeatable; default all)")
    parser.add_argument("--mutant", action="append",
                        help="only the mutant with this id (repeatable; ids from --list)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per gate run")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--out", default=str(ROOT / "reports" / "mutation"))
    args = parser.parse_args(argv)
    families = args.family or sorted(FAMILIES)
    operators = tuple(args.operator or OPERATORS)
    if args.list:
        for family in families:
            for path in FAMILIES[family].sources:
                for m in mutants_of(path, (ROOT / path).read_text(encoding="utf-8"), operators):
                    reason = equivalence(m, family)
                    print(f"{family:16} {m.id:28} {m.describe()}" + (f"  [equivalent: {reason}]" if reason else ""))
        return 0
    from tests.bite import shared_server

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report = {"command": " ".join(["benchmarks/mutation/run.py", *(argv if argv is not None else sys.argv[1:])]),
              "families": []}
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
