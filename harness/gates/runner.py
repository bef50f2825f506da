"""``harness gate``: run the suites that feed some gates, then build their packets.

The suites run in a pytest subprocess, in the target's root: the harness's own scenarios,
located through the installed ``scenarios`` package (so a spec anywhere on disk gets them), plus
the folders of the user's own evidence-marked tests that the spec names (``suites:``). Tests are
selected by the harness plugin's ``--harness-gate`` option (tests whose ``evidence`` marker belongs to another gate are
deselected), writing Allure results to a fresh directory. pytest's exit codes 0 (all passed),
1 (some failed) and 5 (no test collected) all lead to a packet — failures and missing evidence
are what the packet is for. Any other code (interrupted, collection error, internal error,
usage error) means the suites could not give evidence, and is an error with no packet.
``harness gate --all`` runs the suites once for every gate and builds one packet per gate from
the same results.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.gates.assemble import BuildRequest, BuiltPacket, build_packet
from harness.gates.results import read_results

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["SuiteRun", "pytest_command", "run_gates", "run_suites"]

SCENARIOS = "scenarios"
_EVIDENCE_EXIT_CODES = (0, 1, 5)


def scenarios_path() -> Path:
    """The harness's own suites, wherever the package is installed."""
    import scenarios

    return Path(scenarios.__file__).resolve().parent


def suite_paths(target: TargetSpec) -> list[Path]:
    """What ``harness gate`` runs: the harness's scenarios (unless the spec opts out) and the
    spec's own ``suites`` folders."""
    return ([scenarios_path()] if target.harness_suites else []) + list(target.suites)


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    results_dir: Path
    note: str = ""


def pytest_command(target: TargetSpec, gate_ids: tuple[str, ...], results_dir: Path,
                   quiet: bool) -> list[str]:
    command = [sys.executable, "-m", "pytest", *map(str, suite_paths(target))]
    for gate_id in gate_ids:
        command += ["--harness-gate", gate_id]
    command += ["--harness-target", str(target.path), "--alluredir", str(results_dir),
                "-p", "no:cacheprovider"]
    return command + (["-q"] if quiet else [])


def run_suites(target: TargetSpec, gate_ids: tuple[str, ...], results_dir: Path,
               quiet: bool) -> SuiteRun:
    """Runs the gates' suites into a fresh ``results_dir`` (anything there before is removed)."""
    results_dir = results_dir.resolve()
    if results_dir.exists():
        shutil.rmtree(results_dir)
    results_dir.mkdir(parents=True)
    if not suite_paths(target):
        return SuiteRun(5, results_dir, f"{target.path.name} names no suites and sets "
                        "harness_suites: false: no suite ran")
    command = pytest_command(target, gate_ids, results_dir, quiet)
    log = results_dir.parent / f"{results_dir.name}.pytest.log"
    if quiet:
        with log.open("w", encoding="utf-8") as handle:
            done = subprocess.run(command, cwd=target.root, stdout=handle, stderr=subprocess.STDOUT,
                                  check=False)
    else:
        done = subprocess.run(command, cwd=target.root, check=False)
    if done.returncode not in _EVIDENCE_EXIT_CODES:
        where = f" (its output is in {log})" if quiet else " (see its output above)"
        raise HarnessError(
            f"pytest stopped with exit code {done.returncode} before the suites could give "
            f"evidence{where}: fix the collection or usage error and run again; no packet was written")
    note = "no test collected for these gates" if done.returncode == 5 else ""
    return SuiteRun(done.returncode, results_dir, note)


def run_gates(request: BuildRequest, gate_ids: tuple[str, ...], target: TargetSpec,
              results_dir: Path, quiet: bool) -> tuple[SuiteRun, list[BuiltPacket]]:
    """Runs the suites once for ``gate_ids`` and builds a packet for each gate."""
    run = run_suites(target, gate_ids, results_dir, quiet)
    results = read_results(run.results_dir)
    packets = [build_packet(replace(request, gate_id=gate_id, results_dir=run.results_dir,
                                    target=target), results)
               for gate_id in gate_ids]
    return run, packets
