"""The pytest plugin: options, fixtures, the evidence marker, and the run's lifecycle hooks.

It stays thin: every piece of logic lives in a plain module (``target``, ``lifecycle``,
``roles``, ``tenancy``, ``evidence``) that can be used without pytest. Options exist both as
ini keys and as command-line flags and are resolved once into :class:`HarnessOptions`.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import allure
import psycopg
import pytest

from harness import alone, blame, leftovers, provenance
from harness.backends import require_extensions
from harness.capabilities import Unsupported, judge_unsupported
from harness.errors import BackendUnavailable, ConfigError, UnsafeAppRole
from harness.evidence import EvidenceClaim, EvidenceFailure, attach_context, parse_claim
from harness.lifecycle import (
    DEFAULT_POOL_SIZE,
    Database,
    Run,
    claim_run_directory,
    reap,
    server_recorded,
)
from harness.run_directory import run_directory
from harness.secrets import redact
from harness.target import TargetSpec, load_target

RUN_ID_ENV = "HARNESS_RUN_ID"


@dataclass(frozen=True)
class HarnessOptions:
    target: Path
    backend: str | None
    gates: tuple[str, ...]
    fresh: bool = False               # rebuild the cached migrated template
    pool_size: int = DEFAULT_POOL_SIZE  # clones made ahead of demand per process; 0: none
    reuse: bool = True                # hand out again a clone proven unchanged
    alone: str = "last"               # under xdist: alone-marked tests after the rest, or anywhere


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "gate-evidence harness")
    group.addoption("--harness-target", default=None, help="target spec YAML (ini: harness_target)")
    group.addoption("--harness-backend", default=None, choices=("embedded", "system", "docker", "dsn"),
                    help="override the spec's database backend (ini: harness_backend; env HARNESS_BACKEND)")
    group.addoption("--harness-gate", action="append", default=None, metavar="SNN",
                    help="run only tests whose evidence belongs to this gate (repeatable)")
    group.addoption("--harness-fresh", action="store_true", default=None,
                    help="rebuild the cached migrated template (ini: harness_fresh)")
    group.addoption("--harness-pool-size", type=int, default=None, metavar="N",
                    help=f"clones made ahead of demand per process, 0 for none "
                         f"(ini: harness_pool_size; default {DEFAULT_POOL_SIZE})")
    group.addoption("--harness-no-reuse", action="store_true", default=None,
                    help="never hand a test a clone another test had, even one proven unchanged "
                         "(ini: harness_reuse = false)")
    group.addoption("--harness-alone", default=None, choices=alone.MODES,
                    help="with xdist --dist loadfile: 'last' (default) runs the tests marked alone "
                         "after every other test, one at a time, with no other worker running; "
                         "'anywhere' schedules them like any test (ini: harness_alone)")
    parser.addini("harness_target", "target spec YAML, relative to the rootdir", default="target.yaml")
    parser.addini("harness_backend", "database backend override", default="")
    parser.addini("harness_fresh", "rebuild the cached migrated template", type="bool", default=False)
    parser.addini("harness_pool_size", "clones made ahead of demand per process",
                  default=str(DEFAULT_POOL_SIZE))
    parser.addini("harness_reuse", "hand out again a clone proven unchanged (harness.unchanged)",
                  type="bool", default=True)
    parser.addini("harness_alone", "alone-marked tests under xdist: last or anywhere", default="last")


def resolve_options(config: pytest.Config) -> HarnessOptions:
    target = config.getoption("harness_target")
    if target is None:
        target = str(config.rootpath / config.getini("harness_target"))
    backend = config.getoption("harness_backend")
    if backend is None:
        backend = config.getini("harness_backend") or None
    gates = config.getoption("harness_gate")
    fresh = config.getoption("harness_fresh")
    if fresh is None:
        fresh = bool(config.getini("harness_fresh"))
    pool_size = config.getoption("harness_pool_size")
    if pool_size is None:
        raw = config.getini("harness_pool_size")
        try:
            pool_size = int(raw)
        except ValueError:
            raise pytest.UsageError(f"ini harness_pool_size: {raw!r} is not a whole number "
                                    "(fix: harness_pool_size = 4, or 0 for no pool)") from None
    if pool_size < 0:
        raise pytest.UsageError("harness_pool_size must be 0 or more (fix: 4, or 0 for no pool)")
    reuse = not config.getoption("harness_no_reuse") and bool(config.getini("harness_reuse"))
    alone_mode = config.getoption("harness_alone")
    if alone_mode is None:
        alone_mode = config.getini("harness_alone")
    if alone_mode not in alone.MODES:
        raise pytest.UsageError(f"ini harness_alone: {alone_mode!r} is not one of "
                                f"{', '.join(alone.MODES)} (fix: harness_alone = last)")
    return HarnessOptions(target=Path(target), backend=backend,
                          gates=tuple(gates) if gates is not None else (), fresh=fresh,
                          pool_size=pool_size, reuse=reuse, alone=alone_mode)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "evidence(item, story=None): the gate evidence item this test proves "
                   "(becomes Allure labels evidence, gate, epic, feature, story)")
    config.addinivalue_line(
        "markers", "alone: judged by time or load; under xdist (--dist loadfile) it runs after "
                   "every other test, with no other worker running (--harness-alone)")
    config.stash[_options_key] = resolve_options(config)
    _use_spec_data(config.stash[_options_key])
    _stop_on_sigterm()
    if not hasattr(config, "workerinput"):
        # the controller (or a plain run) owns the run id; workers get it from pytest_configure_node
        os.environ[RUN_ID_ENV] = uuid.uuid4().hex
        config.stash[_controller_key] = True
        for stale in leftovers.reap_stale_runs():
            sys.stderr.write(f"harness: removed {stale.describe()}\n")
        claim_run_directory(os.environ[RUN_ID_ENV])


def _use_spec_data(options) -> None:
    """The spec's ``data_dir`` before collection: the suites resolve their data files at import.
    A spec that does not load is the ``harness_target`` fixture's to report (exit 2), not this."""
    from harness import data as harness_data

    try:
        harness_data.use_spec_data(load_target(options.target, backend=options.backend, check_imports=False).data_dir)
    except ConfigError:
        harness_data.use_spec_data(None)


def _stop_on_sigterm() -> None:
    """SIGTERM stops the run like Ctrl-C: fixtures tear down, the server stops, server.json goes."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals to whoever owns it
        pass


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # pytest-xdist: hand the run id to each worker
    node.workerinput[RUN_ID_ENV] = os.environ[RUN_ID_ENV]


def _run_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput and RUN_ID_ENV in workerinput:
        return workerinput[RUN_ID_ENV]
    return os.environ[RUN_ID_ENV]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the ``alone`` tests held back to the end (:mod:`harness.alone`)."""
    if config.stash[_options_key].alone != "last" or config.getvalue("dist") != "loadfile":
        return None
    return alone.AloneLastScheduling(config, log, run_directory(_run_id(config)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and config.stash[_options_key].alone == "last":
        alone.record_marked_ids(run_directory(_run_id(config)), workerinput["workerid"], items)
    gates = config.stash[_options_key].gates
    selected, deselected = [], []
    for item in items:
        claims = []
        for mark in item.iter_markers("evidence"):
            try:
                claims.append(parse_claim(mark.args, mark.kwargs, item.nodeid))
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
        for claim in claims:
            for name, value in claim.labels():
                item.add_marker(allure.label(name, value))
        item.stash[_claims_key] = tuple(claims)
        if gates and not any(c.gate in gates for c in claims):
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Every module a run needs is imported by now (pytest, psycopg, the suites, the target's
    adapter): move what exists to CPython's permanent generation (:func:`gc.freeze`), so the
    cyclic collector stops walking it in every full collection of the run and in pytest's own
    collections at exit. Objects are still freed when their last reference goes; only a cycle
    among them would wait for the process to end. A scenario run spent 0.2-0.3 s less CPU
    (1.1-1.3 s -> 0.9-1.0 s for one test, 4.1-5.1 s -> 3.9-4.6 s for a whole family)."""
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed check's evidence (``EvidenceFailure.context``) goes to Allure section by section;
    a failure's traceback never shows a password (pytest's long tracebacks print the arguments
    of the frame that raised, such as a driver's ``conninfo``)."""
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None:
        text = str(report.longrepr)
        redacted = redact(text)
        if redacted != text:
            report.longrepr = redacted
    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, EvidenceFailure):
        attach_context(failure)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """An operation the target lacks, met while setting a test up: see :func:`_judge_gap`."""
    try:
        return (yield)
    except (Unsupported, NotImplementedError) as exc:
        _judge_gap(item, exc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """An operation the target lacks, met while running a test: see :func:`_judge_gap`. An
    exception the target raised in the test body is a failure of the target, not an error of
    the harness: see :func:`_judge_exception`."""
    blame.clear_responses()
    try:
        return (yield)
    except (Unsupported, NotImplementedError) as exc:
        _judge_gap(item, exc)
    except Exception as exc:
        _judge_exception(item, exc)


def _judge_exception(item: pytest.Item, exc: Exception) -> None:
    """Re-raises ``exc`` as :class:`harness.blame.TargetRaised` (chained, so the original
    traceback stays in the report) when :func:`harness.blame.blame` finds it the target's;
    otherwise unchanged: setup and harness code stay errors."""
    __tracebackhide__ = True
    packages = _target_packages(item.config)
    why = None if packages is None else blame.blame(exc, packages)
    if why is None:
        raise exc
    raise blame.target_failure(exc, why) from exc


def _target_packages(config: pytest.Config) -> frozenset[str] | None:
    """The target's own packages (once per process); None when the spec does not load."""
    if _packages_key not in config.stash:
        options = config.stash[_options_key]
        try:
            spec = load_target(options.target, backend=options.backend, check_imports=False)
            adapter = spec.load_adapter_class() if spec.adapter else None
        except ConfigError:
            return None
        config.stash[_packages_key] = blame.target_packages(adapter, spec.api.asgi if spec.api else None)
    return config.stash[_packages_key]


def _judge_gap(item: pytest.Item, exc: BaseException) -> None:
    """Not applicable when the spec declares the capability, an error naming the missing
    declaration when it does not (:mod:`harness.capabilities`): never a pass or a failure."""
    __tracebackhide__ = True
    options = item.config.stash[_options_key]
    try:
        spec = load_target(options.target, backend=options.backend, check_imports=False)
    except ConfigError:
        raise exc from None
    judge_unsupported(exc, spec)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not config.stash.get(_controller_key, False):
        return
    options = config.stash[_options_key]
    run_id = os.environ[RUN_ID_ENV]
    alluredir = config.getoption("allure_report_dir", None)
    provenance_missing = bool(alluredir) and not (Path(alluredir) / provenance.FILE_NAME).exists()
    spec = None
    recorded = server_recorded(run_id)
    # the spec (its loading imports the adapter: ~1 s of an xdist controller's exit) only when
    # a server is left to stop or provenance to write
    if provenance_missing or recorded:
        try:
            spec = load_target(options.target, backend=options.backend, check_imports=False)
        except ConfigError:
            # a server needs its spec to be stopped: the next run's reaper (or harness doctor)
            # stops it from its record; with none, the run's folder goes now, not at the next run
            if recorded:
                return
    # whatever a crashed or interrupted worker left running, the controller stops it here
    reap(spec, run_id)
    if provenance_missing and spec is not None:
        provenance.write(Path(alluredir), provenance.collect(spec, None, _seed(config)))


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def harness_target(pytestconfig: pytest.Config) -> TargetSpec:
    """The target spec under test, validated (``--harness-target``, default ``target.yaml``)."""
    options = pytestconfig.stash[_options_key]
    try:
        spec = load_target(options.target, backend=options.backend, check_imports=False)
        require_extensions(spec)
    except ConfigError as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)
    return spec


def expected_clones(items: list[pytest.Item]) -> int:
    """The most clones the pool hands out to ``items`` through the fixtures: one per test asking
    for ``fresh_database`` (or a fixture built on it), one per module asking for
    ``module_database``. Under xdist a worker runs a share of its collection: an upper bound.
    A test that clones by hand (``harness_run.fresh_database()``) is served when it asks."""
    fresh, modules = 0, set()
    for item in items:
        names = getattr(item, "fixturenames", ())
        fresh += "fresh_database" in names
        if "module_database" in names:
            modules.add(getattr(item, "module", None) or item.path)
    return fresh + len(modules)


def _adapter_class(spec: TargetSpec) -> type:
    """The spec's adapter class, imported on first use (``harness_target`` does not import it):
    one that does not import stops the run with its one line, as a bad spec does."""
    try:
        return spec.load_adapter_class()
    except ConfigError as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def harness_run(harness_target: TargetSpec, pytestconfig: pytest.Config,
                request: pytest.FixtureRequest) -> Iterator[Run]:
    """The run's shared server (started once, shared by xdist workers) with its template."""
    options = pytestconfig.stash[_options_key]
    run = Run(harness_target, _run_id(pytestconfig), fresh=options.fresh, pool_size=options.pool_size,
              reuse=options.reuse)
    try:
        state = run.acquire()
    except BackendUnavailable as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)
    try:
        run.template()
        run.start_pool(expected=expected_clones(request.session.items))
        alluredir = pytestconfig.getoption("allure_report_dir", None)
        if alluredir:
            provenance.write(Path(alluredir), provenance.collect(harness_target, state.admin,
                                                                 _seed(pytestconfig)))
        yield run
    finally:
        run.release()


@pytest.fixture
def fresh_database(harness_run: Run, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A clone of the migrated template for this test only (made ahead of demand), dropped after."""
    with harness_run.fresh_database(request.node.name) as db:
        yield db


@pytest.fixture(scope="module")
def module_database(harness_run: Run, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A clone shared by one module's tests, for data committed across connections."""
    with harness_run.fresh_database(request.module.__name__.rsplit(".", 1)[-1]) as db:
        yield db


@pytest.fixture
def owner_conn(fresh_database: Database, harness_run: Run) -> Iterator[psycopg.Connection]:
    """The owner (migration) role on the fresh database, autocommit: for seeding only.
    Opened ahead with the clone, so a test waits for neither."""
    with harness_run.owner_connection(fresh_database) as conn:
        yield conn


@pytest.fixture
def app_conn(fresh_database: Database, owner_conn: psycopg.Connection,
             harness_run: Run) -> Iterator[psycopg.Connection]:
    """The app role on the fresh database; refuses to exist if that role bypasses RLS (asked
    once per process: roles belong to the server, and every clone's tables to the template)."""
    try:
        harness_run.require_safe_app_role(owner_conn)
    except UnsafeAppRole as exc:
        pytest.fail(str(exc), pytrace=False)
    with harness_run.app_connection(fresh_database) as conn:
        yield conn


@pytest.fixture
def target_adapter(fresh_database: Database) -> Iterator[object]:
    """The target's adapter (``adapter:`` in the spec) bound to the fresh database."""
    spec = fresh_database.spec
    if spec.adapter is None:
        pytest.skip(f"target {spec.name} declares no adapter: behavioural checks cannot run "
                    "(a skipped check is never evidence)")
    adapter = _adapter_class(spec)(fresh_database)
    yield adapter
    _close(adapter)


@pytest.fixture(scope="module")
def module_adapter(module_database: Database) -> Iterator[object]:
    """The target's adapter on ``module_database`` (None when the spec names none), for tests
    that share committed data across a module; ask for a capability with ``require``."""
    spec = module_database.spec
    adapter = _adapter_class(spec)(module_database) if spec.adapter else None
    yield adapter
    _close(adapter)


def _close(adapter: object) -> None:
    """An adapter that keeps connections open across operations may say ``close()``: it is
    called once its test (or module) is done, before its database is dropped."""
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


def _seed(config: pytest.Config) -> str | None:
    seed = config.getoption("hypothesis_seed", None)
    return None if seed is None else str(seed)


def claims_of(item: pytest.Item) -> tuple[EvidenceClaim, ...]:
    return item.stash.get(_claims_key, ())


_options_key = pytest.StashKey[HarnessOptions]()
_controller_key = pytest.StashKey[bool]()
_claims_key = pytest.StashKey[tuple]()
_packages_key = pytest.StashKey[frozenset]()
