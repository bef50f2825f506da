"""Where the wall time of a ``harness gate`` run goes, phase by phase and family by family.

Runs the command given after ``--`` (default ``harness gate --all --workers 2 -q``), timing it
from outside, then reads the Allure results it wrote (the newest run folder under
``--results``): every test's and fixture's start and stop. Prints

- **phases**: start-up (command start to the first fixture), the parallel part (to the first
  fixture of an ``alone``-marked test file), the ``alone`` part (to the last test's end), and
  the packets and their Allure reports (last test to the command's end);
- **families**: per scenario family, the summed wall of its test files (first fixture to last
  teardown of each file), and which of them are ``alone``.

Usage (from a checkout with ``./dev setup`` done; the machine's load average is printed too,
since on a shared machine it decides more than any change)::

    .venv/bin/python benchmarks/gate_timeline.py
    .venv/bin/python benchmarks/gate_timeline.py -- .venv/bin/harness gate --all --workers 1 -q
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

_TEARDOWN_SLACK_S = 5.0
ALONE_SUFFIX = " (alone)"
DEFAULT = [str(Path(sys.executable).with_name("harness")), "gate", "--all", "--workers", "2", "-q"]


def _spans(results: Path) -> tuple[dict[str, list[float]], set[str]]:
    """Per test file (Allure ``package`` label; its ``alone`` tests apart): [first start, last
    stop] in seconds since the epoch, fixtures included; and the ``alone`` keys."""
    by_uuid: dict[str, str] = {}
    spans: dict[str, list[float]] = {}
    alone: set[str] = set()

    def widen(package: str, start: float | None, stop: float | None) -> None:
        span = spans.setdefault(package, [float("inf"), 0.0])
        if start:
            span[0] = min(span[0], start / 1000)
        if stop:
            span[1] = max(span[1], stop / 1000)

    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        labels = {(label["name"], label["value"]) for label in data.get("labels", [])}
        package = next((v for n, v in labels if n == "package"), data.get("fullName", "?"))
        if ("tag", "alone") in labels:   # a file may hold both kinds: its alone tests apart
            package += ALONE_SUFFIX
            alone.add(package)
        by_uuid[data["uuid"]] = package
        widen(package, data.get("start"), data.get("stop"))
    tests_end = {package: span[1] for package, span in spans.items()}
    for path in results.glob("*-container.json"):
        data = json.loads(path.read_text())
        packages = {by_uuid[c] for c in data.get("children", []) if c in by_uuid}
        if len(packages) != 1:          # a session fixture shared by files: counted in none
            continue
        package = packages.pop()
        for fixture in data.get("befores", []):
            widen(package, fixture.get("start"), fixture.get("stop"))
        for fixture in data.get("afters", []):
            # a session fixture only this file used is torn down at the session's end: not its time
            if (fixture.get("start") or 0) / 1000 <= tests_end[package] + _TEARDOWN_SLACK_S:
                widen(package, fixture.get("start"), fixture.get("stop"))
    return spans, alone


def _family(package: str) -> str:
    parts = package.removesuffix(ALONE_SUFFIX).split(".")
    return parts[1] if parts[0] == "scenarios" and len(parts) > 2 else parts[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    parser.add_argument("command", nargs="*", help="the gate command (after --)")
    args = parser.parse_args()
    command = args.command or DEFAULT
    load_before = os.getloadavg()
    began = time.time()
    code = subprocess.run(command).returncode
    ended = time.time()
    load_after = os.getloadavg()
    runs = [d for d in args.results.iterdir() if d.is_dir()] if args.results.is_dir() else []
    run = max(runs, key=lambda d: d.stat().st_mtime, default=None)
    if run is None or run.stat().st_mtime < began:
        print(f"no results written under {args.results} by this run (exit {code})")
        return 1
    spans, alone = _spans(run)
    first = min(s[0] for s in spans.values())
    last = max(s[1] for s in spans.values())
    alone_start = min((spans[p][0] for p in alone), default=last)
    print(f"command: {' '.join(command)}  (exit {code})")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    print(f"wall {ended - began:6.1f} s")
    for name, seconds in (("start-up", first - began), ("parallel part", alone_start - first),
                          ("alone part", last - alone_start), ("packets + Allure", ended - last)):
        print(f"  {name:<18}{seconds:6.1f} s")
    families: dict[str, float] = defaultdict(float)
    for package, (start, stop) in spans.items():
        families[_family(package)] += stop - start
    print("families (summed wall of their test files; * holds alone tests):")
    for family, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
        mark = "*" if any(_family(p) == family for p in alone) else " "
        print(f"  {family:<18}{seconds:6.1f} s {mark}")
    slowest = sorted(spans.items(), key=lambda kv: kv[1][0] - kv[1][1])[:8]
    print("slowest files:")
    for package, (start, stop) in slowest:
        print(f"  {stop - start:6.1f} s  {package}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
