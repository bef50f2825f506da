"""The pytest plugin: options, fixtures, the evidence marker, and the run's lifecycle hooks.

It stays thin: every piece of logic lives in a plain module (``target``, ``lifecycle``,
``roles``, ``tenancy``, ``evidence``) that can be used without pytest. Options exist both as
ini keys and as command-line flags and are resolved once into :class:`HarnessOptions`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import allure
import psycopg
import pytest

from harness import provenance
from harness.errors import BackendUnavailable, ConfigError, UnsafeAppRole
from harness.evidence import EvidenceClaim, EvidenceFailure, attach_context, parse_claim
from harness.lifecycle import Database, Run, reap
from harness.roles import require_safe_app_role
from harness.target import TargetSpec, load_target

RUN_ID_ENV = "HARNESS_RUN_ID"


@dataclass(frozen=True)
class HarnessOptions:
    target: Path
    backend: str | None
    gates: tuple[str, ...]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "gate-evidence harness")
    group.addoption("--harness-target", default=None, help="target spec YAML (ini: harness_target)")
    group.addoption("--harness-backend", default=None, choices=("embedded", "docker", "dsn"),
                    help="override the spec's database backend (ini: harness_backend; env HARNESS_BACKEND)")
    group.addoption("--harness-gate", action="append", default=None, metavar="SNN",
                    help="run only tests whose evidence belongs to this gate (repeatable)")
    parser.addini("harness_target", "target spec YAML, relative to the rootdir", default="target.yaml")
    parser.addini("harness_backend", "database backend override", default="")


def resolve_options(config: pytest.Config) -> HarnessOptions:
    target = config.getoption("harness_target")
    if target is None:
        target = str(config.rootpath / config.getini("harness_target"))
    backend = config.getoption("harness_backend")
    if backend is None:
        backend = config.getini("harness_backend") or None
    gates = config.getoption("harness_gate")
    return HarnessOptions(target=Path(target), backend=backend,
                          gates=tuple(gates) if gates is not None else ())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "evidence(item, story=None): the gate evidence item this test proves "
                   "(becomes Allure labels evidence, gate, epic, feature, story)")
    config.stash[_options_key] = resolve_options(config)
    if not hasattr(config, "workerinput"):
        # the controller (or a plain run) owns the run id; workers get it from pytest_configure_node
        os.environ[RUN_ID_ENV] = uuid.uuid4().hex
        config.stash[_controller_key] = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # pytest-xdist: hand the run id to each worker
    node.workerinput[RUN_ID_ENV] = os.environ[RUN_ID_ENV]


def _run_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput and RUN_ID_ENV in workerinput:
        return workerinput[RUN_ID_ENV]
    return os.environ[RUN_ID_ENV]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed check's evidence (``EvidenceFailure.context``) goes to Allure section by section."""
    yield
    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, EvidenceFailure):
        attach_context(failure)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not config.stash.get(_controller_key, False):
        return
    options = config.stash[_options_key]
    try:
        spec = load_target(options.target, backend=options.backend)
    except ConfigError:
        return
    # whatever a crashed or interrupted worker left running, the controller stops it here
    reap(spec, os.environ[RUN_ID_ENV])
    alluredir = config.getoption("allure_report_dir", None)
    if alluredir and not (Path(alluredir) / provenance.FILE_NAME).exists():
        provenance.write(Path(alluredir), provenance.collect(spec, None, _seed(config)))


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def harness_target(pytestconfig: pytest.Config) -> TargetSpec:
    """The target spec under test, validated (``--harness-target``, default ``target.yaml``)."""
    options = pytestconfig.stash[_options_key]
    try:
        return load_target(options.target, backend=options.backend)
    except ConfigError as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def harness_run(harness_target: TargetSpec, pytestconfig: pytest.Config) -> Iterator[Run]:
    """The run's shared server (started once, shared by xdist workers) with its template."""
    run = Run(harness_target, _run_id(pytestconfig))
    try:
        state = run.acquire()
    except BackendUnavailable as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)
    try:
        run.template()
        alluredir = pytestconfig.getoption("allure_report_dir", None)
        if alluredir:
            provenance.write(Path(alluredir), provenance.collect(harness_target, state.admin,
                                                                 _seed(pytestconfig)))
        yield run
    finally:
        run.release()


@pytest.fixture
def fresh_database(harness_run: Run, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A clone of the migrated template for this test only, dropped afterwards."""
    with harness_run.fresh_database(request.node.name) as db:
        yield db


@pytest.fixture(scope="module")
def module_database(harness_run: Run, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A clone shared by one module's tests, for data committed across connections."""
    with harness_run.fresh_database(request.module.__name__.rsplit(".", 1)[-1]) as db:
        yield db


@pytest.fixture
def owner_conn(fresh_database: Database) -> Iterator[psycopg.Connection]:
    """The owner (migration) role on the fresh database, autocommit: for seeding only."""
    with fresh_database.connect_owner(autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_conn(fresh_database: Database, owner_conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The app role on the fresh database; refuses to exist if that role bypasses RLS."""
    spec = fresh_database.spec
    try:
        require_safe_app_role(owner_conn, spec.app_role, spec.tenancy.schemas)
    except UnsafeAppRole as exc:
        pytest.fail(str(exc), pytrace=False)
    with fresh_database.connect_app() as conn:
        yield conn


@pytest.fixture
def target_adapter(fresh_database: Database):
    """The target's adapter (``adapter:`` in the spec) bound to the fresh database."""
    spec = fresh_database.spec
    if spec.adapter is None:
        pytest.skip(f"target {spec.name} declares no adapter: behavioural checks cannot run "
                    "(a skipped check is never evidence)")
    return spec.load_adapter_class()(fresh_database)


def _seed(config: pytest.Config) -> str | None:
    seed = config.getoption("hypothesis_seed", None)
    return None if seed is None else str(seed)


def claims_of(item: pytest.Item) -> tuple[EvidenceClaim, ...]:
    return item.stash.get(_claims_key, ())


_options_key = pytest.StashKey[HarnessOptions]()
_controller_key = pytest.StashKey[bool]()
_claims_key = pytest.StashKey[tuple]()
