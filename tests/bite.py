"""Proof a family bites: run one family's suite against a target and read the gate packet.

The bite test (``tests/test_bite.py``, driven by the registry of families) asks the same
question of every family: run *only this family's* scenarios (``scenarios/<family>``) against
the clean reference or a known-bad variant, build the gate packets as ``harness packet build
--no-allure`` does, with the catalog's own decision rules (:func:`build_packets`), and read each
item's status from ``packet.json``. This module is the one place that knows how.

Runs of one family share one server: :func:`shared_server` starts an embedded PostgreSQL
once for a test module, and each run reaches it through the ``dsn`` backend (the harness
creates and drops only its own ``harness_*`` databases there). A variant that changes
cluster-wide state (roles) must ask for a private server instead (``dsn=None``).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from harness.pysource import parse
from harness.secrets import redact

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ROOT / "reference_impl" / "variants"
TARGETS = ROOT / "fixtures" / "targets"     # real schemas written by others, and their variants

__all__ = ["ROOT", "TARGETS", "VARIANTS", "GateVerdict", "build_packets", "reaches_hypothesis", "run_family",
           "shared_server", "target_path"]


@dataclass(frozen=True)
class GateVerdict:
    decision: str                        # GO / NO-GO
    items: dict[str, str]                # item -> met / failed / missing / flaky / waived / ...
    tests: dict[str, dict[str, str]]     # item -> {test name: passed / failed / broken / skipped}
    log: str                             # the end of the commands' output, for a failure message
    packet: dict = field(default_factory=dict, repr=False)   # the whole packet.json

    def failing_tests(self) -> dict[str, list[str]]:
        return {item: sorted(t for t, s in tests.items() if s in ("failed", "broken"))
                for item, tests in self.tests.items()
                if any(s in ("failed", "broken") for s in tests.values())}

    def skipped(self, items: tuple[str, ...]) -> dict[str, list[str]]:
        return {i: sorted(t for t, s in self.tests.get(i, {}).items() if s == "skipped")
                for i in items if any(s == "skipped" for s in self.tests.get(i, {}).values())}


def target_path(name: str) -> Path:
    """``reference`` is the repository's target.yaml; ``<real>/<variant>`` a variant of a real
    target (``fixtures/targets/<real>/variants/<variant>``); ``<real>`` that target itself;
    anything else a variant of the reference (``reference_impl/variants/<name>``)."""
    if name == "reference":
        return ROOT / "target.yaml"
    real, slash, variant = name.partition("/")
    if slash:
        return TARGETS / real / "variants" / variant / "target.yaml"
    if (TARGETS / name / "target.yaml").is_file():
        return TARGETS / name / "target.yaml"
    return VARIANTS / name / "target.yaml"


def _clean_env(dsn: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HARNESS_RUN_ID", "PYTEST_ADDOPTS", "HARNESS_DSN")
           and not k.startswith("PYTEST_XDIST")}
    if dsn is None:
        env["HARNESS_BACKEND"] = "embedded"
    else:
        env["HARNESS_BACKEND"] = "dsn"
        env["HARNESS_DSN"] = dsn
    return env


# one build (or import scan) at a time: the harness's loaders fill module caches, a build takes
# ~30 ms of CPU, and both parse Python (the scan here, target documents there), which CPython
# 3.11 cannot do in two threads at once: a CI run failed with "SystemError: AST constructor
# recursion depth mismatch" when two real-target runs scanned their suites together
_BUILDING = threading.Lock()


def run_family(family: str, target: Path, gates: tuple[str, ...], out: Path, *,
               dsn: str | None = None, timeout: float = 900,
               pytest_args: tuple[str, ...] = (),
               env: Mapping[str, str] | None = None) -> dict[str, GateVerdict]:
    """Runs ``scenarios/<family>`` for ``gates`` against ``target``; one verdict per gate.
    ``env`` adds to the runs' environment (never this process's: runs go in threads)."""
    results = out / "results"
    env = {**_clean_env(dsn), **(env or {})}
    command = [sys.executable, "-m", "pytest", str(ROOT / "scenarios" / family), "-q",
               "-p", "no:cacheprovider", "--harness-target", str(target),
               "--alluredir", str(results), *pytest_args]
    for gate in gates:
        command += ["--harness-gate", gate]
    if reaches_hypothesis(ROOT / "scenarios" / family) is None:
        # hypothesis's plugin imports all of hypothesis at the end of every session (~1 s of CPU)
        command += ["-p", "no:hypothesispytest"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    log = (f"$ pytest scenarios/{family} ({target.parent.name}) -> exit {done.returncode}\n"
           f"{done.stdout[-4000:]}{done.stderr[-2000:]}")
    try:
        packets = build_packets(results, gates, target, out / "packets", dsn=dsn)
    except Exception as exc:  # noqa: BLE001  (the run's output explains it; the DSN never shows)
        problem = redact(f"{type(exc).__name__}: {exc}", dsn)
        raise AssertionError(f"no packet was built ({problem}):\n{log}") from None
    return {gate: GateVerdict(
        packet["decision"], {i["id"]: i["status"] for i in packet["items"]},
        {i["id"]: {t["name"]: t["status"] for t in i["tests"]} for i in packet["items"]},
        log, packet) for gate, packet in packets.items()}


# what the scenarios and the harness plugin import, read from their source (lazy imports too)
_OURS = ("harness", "scenarios", "reference_impl", "tests")
_HYPOTHESIS = ("hypothesis", "schemathesis")   # schemathesis is built on hypothesis


@cache
def reaches_hypothesis(suite: Path) -> str | None:
    """Which import brings in hypothesis when ``suite`` (a folder of scenarios) runs: it or the
    project modules it imports, at any depth, at the top of a file or inside a function, the
    packages on the way, the harness plugin and the scenarios' conftest; every family's package
    when :mod:`harness.families` is reached (it imports them by name). None: hypothesis is never
    used, so its pytest plugin can stay unloaded (``tests/test_bite_runs.py`` checks a
    collection of those suites then imports no hypothesis)."""
    from harness.families import BUILTIN

    todo = [*suite.rglob("*.py"), ROOT / "scenarios" / "conftest.py", ROOT / "harness" / "plugin.py"]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for name in _imported(path):
            if name.split(".")[0] in _HYPOTHESIS:
                return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} imports {name}"
            if name.split(".")[0] in _OURS:
                for module in (name, *(BUILTIN if name == "harness.families" else ())):
                    parts = module.split(".")
                    for depth in range(1, len(parts) + 1):
                        stem = ROOT.joinpath(*parts[:depth])
                        todo += [stem.with_suffix(".py"), stem / "__init__.py"]
    return None


def _imported(path: Path) -> Iterator[str]:
    """Every module name ``path`` imports (``from a import b``: ``a`` and ``a.b``)."""
    package = path.relative_to(ROOT).parent.parts if path.is_relative_to(ROOT) else ()
    # harness.pysource.parse: ast.parse is not thread-safe in CPython 3.11 (gh-106905)
    for node in ast.walk(parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(filter(None, (*package[:len(package) - node.level + 1], base)))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)




def build_packets(results: Path, gates: tuple[str, ...], target: Path, out: Path, *,
                  dsn: str | None = None) -> dict[str, dict]:
    """Each gate's packet (``out/<gate>/``, its ``packet.json`` returned) from one run's results,
    built in this process as ``harness packet build --results RESULTS --gate GATE --target TARGET
    --catalog gates.yaml --no-allure`` run from the project builds it: the same catalog, waivers
    (``waivers.yaml`` beside the target, else the project's), target documents, decision rules,
    provenance and redaction (``dsn``, the run's ``HARNESS_DSN``, is a secret the packet hides).
    The results are read once for all gates. A ``harness packet build`` process per gate cost
    ~1.5 s of CPU, nearly all of it importing what this process holds already;
    ``tests/test_bite_runs.py`` proves both give the same packet."""
    from harness.gates.assemble import BuildRequest, build_packet
    from harness.gates.catalog import load_catalog
    from harness.gates.results import read_results
    from harness.gates.waivers import load_waivers
    from harness.secrets import ConnParams
    from harness.target import load_target

    with _BUILDING:
        # the run's backend, as HARNESS_BACKEND / HARNESS_DSN gave it to the command line
        spec = load_target(target, backend="embedded", check_imports=False)
        if dsn is not None:
            spec = replace(spec, database=replace(spec.database, backend="dsn",
                                                  dsn=ConnParams.from_dsn(dsn)))
        catalog = load_catalog(ROOT / "gates.yaml")
        waivers_file = next((p for p in (spec.root / "waivers.yaml", ROOT / "waivers.yaml")
                             if p.is_file()), None)
        waivers = load_waivers(waivers_file, catalog) if waivers_file is not None else ()
        read = read_results(results)
        for gate in gates:
            build_packet(BuildRequest(catalog=catalog, gate_id=gate, results_dir=results, out_root=out,
                                      waivers=waivers, target=spec, allure=False), read)
    return {gate: json.loads((out / gate / "packet.json").read_text()) for gate in gates}


@contextmanager
def shared_server() -> Iterator[str]:
    """An embedded PostgreSQL for a module's gate runs; yields its superuser DSN (never print it).

    It is registered as a harness run is (:mod:`harness.run_directory`): its folder is a run
    directory owned by this process, with the server recorded in ``server.json``. A suite
    interrupted before the ``finally`` below (SIGKILL, an xdist worker torn down) leaves a run
    whose owner is dead, and the next run's stale-run cleanup, or ``harness doctor``, stops its
    postmaster by PID (:mod:`harness.leftovers`) instead of leaving it running unseen.
    """
    from harness.backends import get_backend
    from harness.lifecycle import record_server
    from harness.run_directory import claim_run_directory
    from harness.target import load_target

    spec = load_target(ROOT / "target.yaml", backend="embedded")
    backend = get_backend(spec)
    folder = claim_run_directory(f"bite-{uuid.uuid4().hex}")
    state = backend.start(folder / "server")
    try:
        record_server(folder, state)
        yield state.admin.conninfo()
    finally:
        backend.stop(state)
    # only once stopped: a folder removed while its server runs is the leftover nobody sees
    shutil.rmtree(folder, ignore_errors=True)

