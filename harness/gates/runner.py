"""``harness gate``: run the suites that feed some gates, then build their packets.

The suites run in a pytest subprocess, in the target's root: the harness's own scenarios,
located through the installed ``scenarios`` package (so a spec anywhere on disk gets them), plus
the folders of the user's own evidence-marked tests that the spec names (``suites:``). Tests are
selected by the harness plugin's ``--harness-gate`` option (tests whose ``evidence`` marker
belongs to another gate are deselected), writing Allure results to a directory of **this run's
own** (``RESULTS/<gates>-<time>-<pid>``): nothing another run wrote is removed or mixed in.
pytest's exit codes 0 (all passed), 1 (some failed) and 5 (no test collected) all lead to a
packet — failures and missing evidence are what the packet is for. Any other code (interrupted,
collection error, internal error, usage error, a backend that cannot start) means the suites
could not give evidence, and is an error with no packet, quoting the plugin's own one-line
reason when it gave one. Every run fixes a hypothesis seed and passes it on, so the packet can
say which seed produced it. ``harness gate --all`` runs the suites once for every gate and
builds one packet per gate from the same results.

**Workers.** With ``workers`` > 1 the suites spread over that many pytest-xdist workers (a test
module stays on one worker, so module databases keep their tests), in the same single pytest
run; the plugin's scheduler (:mod:`harness.alone`) holds the tests marked ``alone`` (they judge
time or load: locust SLOs, throughput ratios, restore and release windows) until every other
test is done and every other worker has ended, then runs them one at a time. The hypothesis
seed and results directory are those of a serial run, so the evidence, and every decision made
from it, is that of a serial run. The packets of several gates are then built side by side
(``harness gate --all``: twelve packets and their Allure reports), each swapped in whole.

**Signals.** SIGINT and SIGTERM sent to ``harness gate`` are forwarded to pytest as SIGINT
(pytest turns it into an interrupt that runs every fixture's teardown: the database server is
stopped, its files removed); ``harness gate`` waits for that cleanup, then stops with
:class:`Interrupted` and writes no packet. pytest runs in its own session so that a terminal's
Ctrl-C reaches it once, through us; and it is interrupted the same way when ``harness gate``
dies outright (SIGKILL), so it never runs on unwatched.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harness.errors import HarnessError
from harness.gates import allure_report
from harness.gates.assemble import BuildRequest, BuiltPacket, build_packet
from harness.gates.results import read_results

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["Interrupted", "SuiteRun", "new_results_dir", "pytest_command", "run_gates",
           "run_suites", "suite_commands"]

SCENARIOS = "scenarios"
RUN_MARKER = ".harness-run"
KEEP_RUNS = 5                 # results directories of earlier runs kept per gate selection
CLEANUP_TIMEOUT = 120.0       # seconds pytest gets to tear down after an interrupt
_EVIDENCE_EXIT_CODES = (0, 1, 5)
_PR_SET_PDEATHSIG = 1
_PLUGIN_ERROR = re.compile(r"harness: error: (.*?)(?:\s+!+)?\s*$")


class Interrupted(HarnessError):
    """``harness gate`` was interrupted; pytest was stopped and cleaned up; no packet."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: pytest was stopped and has cleaned up "
                         "(server stopped, its files removed); no packet was written")


def scenarios_path() -> Path:
    """The harness's own suites, wherever the package is installed (found, not imported: the
    harness never depends on the suites that use it)."""
    import importlib.util

    spec = importlib.util.find_spec(SCENARIOS)
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError("the harness's scenarios package is not installed "
                           "(fix: pip install the gate-harness distribution)")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def suite_paths(target: TargetSpec) -> list[Path]:
    """What ``harness gate`` runs: the harness's scenarios (unless the spec opts out) and the
    spec's own ``suites`` folders."""
    return ([scenarios_path()] if target.harness_suites else []) + list(target.suites)


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    results_dir: Path
    note: str = ""
    hypothesis_seed: str | None = None


def pytest_command(target: TargetSpec, gate_ids: tuple[str, ...], results_dir: Path,
                   quiet: bool, seed: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "pytest", *map(str, suite_paths(target))]
    for gate_id in gate_ids:
        command += ["--harness-gate", gate_id]
    command += ["--harness-target", str(target.path), "--alluredir", str(results_dir),
                "-p", "no:cacheprovider"]
    if not target.suites:
        # the installed scenarios use neither plugin (schemathesis runs in-process, locust as a
        # process) and loading them costs each run ~1.5 s of CPU; a user's own suites may
        command += ["-p", "no:schemathesis", "-p", "no:locust"]
    if seed is not None:
        command += ["--hypothesis-seed", seed]
    return command + (["-q"] if quiet else [])


def suite_commands(target: TargetSpec, gate_ids: tuple[str, ...], results_dir: Path,
                   quiet: bool, seed: str | None, workers: int) -> list[list[str]]:
    """The pytest run that gives the evidence: serial, or on ``workers`` xdist workers with the
    ``alone`` tests last (the plugin's ``--harness-alone last``)."""
    command = pytest_command(target, gate_ids, results_dir, quiet, seed)
    if workers <= 1:
        return [command]
    return [[*command, "-n", str(workers), "--dist", "loadfile", "--harness-alone", "last"]]


def _combined(codes: list[int]) -> int:
    """One exit code for the runs: the first that is not evidence, else failed, passed, none."""
    for code in codes:
        if code not in _EVIDENCE_EXIT_CODES:
            return code
    return 1 if 1 in codes else 0 if 0 in codes else 5


def new_results_dir(results_root: Path, label: str) -> Path:
    """A fresh directory for one run's results; the oldest runs beyond :data:`KEEP_RUNS` go."""
    results_root = results_root.resolve()
    results_root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    directory = results_root / f"{label}-{stamp}-{os.getpid()}"
    directory.mkdir()
    (directory / RUN_MARKER).write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    _prune(results_root, label, keep=directory)
    return directory


def _prune(results_root: Path, label: str, keep: Path) -> None:
    import shutil

    own = re.compile(rf"{re.escape(label)}-\d{{8}}T\d{{6}}-\d+")   # this selection's runs only
    runs = sorted((d for d in results_root.iterdir()
                   if own.fullmatch(d.name) and d.is_dir() and not d.is_symlink()
                   and (d / RUN_MARKER).is_file() and d != keep),
                  key=lambda d: d.stat().st_mtime)
    for old in runs[:max(0, len(runs) - (KEEP_RUNS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
        (old.parent / f"{old.name}.pytest.log").unlink(missing_ok=True)


def run_suites(target: TargetSpec, gate_ids: tuple[str, ...], results_dir: Path,
               quiet: bool, workers: int = 1) -> SuiteRun:
    """Runs the gates' suites into ``results_dir`` (made by :func:`new_results_dir`), on
    ``workers`` pytest-xdist workers when more than one."""
    results_dir = results_dir.resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    if not suite_paths(target):
        return SuiteRun(5, results_dir, f"{target.path.name} names no suites and sets "
                        "harness_suites: false: no suite ran")
    seed = str(random.SystemRandom().randrange(2**32))
    commands = suite_commands(target, gate_ids, results_dir, quiet, seed, workers)
    log = results_dir.parent / f"{results_dir.name}.pytest.log"
    codes: list[int] = []
    with log.open("w", encoding="utf-8") as handle:
        for command in commands:
            if not quiet and sys.stdout.isatty():
                command.append("--color=yes")   # its output reaches the terminal through a pipe
            codes.append(_run_forwarding_signals(command, target.root, handle,
                                                 None if quiet else sys.stdout))
            if codes[-1] not in _EVIDENCE_EXIT_CODES:
                break
    code = _combined(codes)
    if code not in _EVIDENCE_EXIT_CODES:
        reason = _plugin_error(log)
        where = f"its output is in {log}"
        if reason:
            raise HarnessError(f"{reason} ({where}; no packet was written)")
        raise HarnessError(
            f"pytest stopped with exit code {code} before the suites could give evidence "
            f"({where}): fix the collection or usage error and run again; no packet was written")
    note = "no test collected for these gates" if code == 5 else ""
    return SuiteRun(code, results_dir, note, seed)


def _run_forwarding_signals(command: list[str], cwd: Path, log: TextIO, echo: TextIO | None) -> int:
    """Runs ``command``, copying its output to ``log`` (and ``echo``); a SIGINT or SIGTERM is
    passed on as SIGINT and waited for, then raised as :class:`Interrupted`."""
    # a gate run from inside an xdist worker (the harness's own tests) must not look like one
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace", start_new_session=True, env=env,
                             preexec_fn=_interrupt_when_parent_dies)
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        if child.poll() is None and len(received) == 1:   # a second SIGINT would cut teardown short
            child.send_signal(signal.SIGINT)

    handled = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, forward) for s in handled} if in_main else {}
    try:
        copier = threading.Thread(target=_copy_output, args=(child, log, echo), daemon=True)
        copier.start()
        code = _wait(child, received)
        copier.join(timeout=10)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise Interrupted(received[0])
    return code


def _interrupt_when_parent_dies() -> None:
    """In the pytest child, before it runs: a SIGINT when ``harness gate`` dies, however it dies
    (SIGKILL included), so pytest stops the way Ctrl-C stops it, fixtures torn down, instead of
    running on unwatched (Linux's PR_SET_PDEATHSIG; elsewhere nothing)."""
    import ctypes

    # SIGINT is how pytest is stopped, so it must not inherit an ignored SIGINT (what a shell
    # gives a command started in the background without job control: Python then never turns
    # SIGINT into KeyboardInterrupt, and the run could not be stopped cleanly)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def _wait(child: subprocess.Popen, received: list[int]) -> int:
    deadline = None
    while True:
        try:
            return child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        if received and deadline is None:
            deadline = time.monotonic() + CLEANUP_TIMEOUT
        if deadline is not None and time.monotonic() > deadline:
            child.kill()   # teardown hung: the next run's reaper removes what is left
            return child.wait()


def _copy_output(child: subprocess.Popen, log: TextIO, echo: TextIO | None) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        log.write(line)
        if echo is not None:
            try:
                echo.write(line)
                echo.flush()
            except (OSError, ValueError):   # a closed terminal must not stall pytest on a full pipe
                echo = None
    log.flush()


def _plugin_error(log: Path) -> str:
    """The plugin's one-line reason (``harness: error: ...``) for stopping pytest, if it gave one."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        match = _PLUGIN_ERROR.search(line)
        if match:
            return match.group(1).strip()
    return ""


def run_gates(request: BuildRequest, gate_ids: tuple[str, ...], target: TargetSpec,
              results_dir: Path, quiet: bool, workers: int = 1) -> tuple[SuiteRun, list[BuiltPacket]]:
    """Runs the suites once for ``gate_ids`` (on ``workers`` workers) and builds a packet for
    each gate, several side by side."""
    run = run_suites(target, gate_ids, results_dir, quiet, workers)
    results = read_results(run.results_dir)

    # one Node process renders every gate's Allure report (starting one per report cost more
    # CPU than the rendering); it is stopped when the packets are built, or on an interrupt
    with allure_report.renderer() as renderer:
        def build(gate_id: str) -> BuiltPacket:
            return build_packet(replace(request, gate_id=gate_id, results_dir=run.results_dir,
                                        target=target), results, renderer)

        if len(gate_ids) == 1 or workers <= 1:
            return run, [build(gate_id) for gate_id in gate_ids]
        # each packet is built in its own staging folder and swapped in whole; an interrupt
        # cancels the packets not yet started and waits for those under way
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="packet") as builders:
            futures = [builders.submit(build, gate_id) for gate_id in gate_ids]
            try:
                return run, [future.result() for future in futures]
            except BaseException:
                builders.shutdown(cancel_futures=True)
                raise
