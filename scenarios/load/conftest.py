"""Two runs, each on its module's own database with the API under uvicorn: a probe, and a load.

Each module seeds tenants of both classes through the target's API capability and starts the
API on the module's database; every test of the module judges one property of what was measured.

- ``test_load_queries.py`` (:func:`probe_evidence`): a short probe (:mod:`harness.load.probe`)
  counts what single list requests cost the database at two page sizes and two tenant sizes
  (``pg_stat_statements``, this database and the app role only) and takes the plan of the
  statement that returned the page. Counts, rows and plans, no time: it runs beside other tests.
- ``test_load_slo.py``: the API serves the module's database for the whole module
  (:func:`load_api`); first how many list requests reach the database at once
  (:func:`load_capacity`: held on a lock; this also opens the API's pool before the load), then
  locust against the API (:func:`load_evidence`: the tenants' tokens in a private file for the
  locustfile), the database side (pg_stat_statements, table counters, plans) read before and
  after. A run that selects only the capacity test starts no locust. Judged by time and load: it
  runs after the parallel part, alone.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from harness import data as harness_data
from harness.api.server import live_server
from harness.api.target import ApiTarget
from harness.capabilities import require
from harness.children import scratch_dir
from harness.errors import ConfigError
from harness.load import LoadProfile, load_profile
from harness.load.baseline import baseline_metrics
from harness.load.database import (
    Counters,
    enable_statements,
    generic_plans,
    read_counters,
    top_statements,
)
from harness.load.plans import json_plan, page_plan
from harness.load.probe import Capacity, ListProbe, list_probe, requests_in_database
from harness.load.runner import LoadRun, run_locust
from harness.tenancy import Principal

SLO_FILE = harness_data.path("loadtests/slo.yaml")
LOCUSTFILE = harness_data.path("loadtests/locustfile.py")


@dataclass(frozen=True)
class LoadEvidence:
    """The load run of ``test_load_slo.py``."""

    profile: LoadProfile
    run: LoadRun
    before: Counters
    after: Counters
    statements: list[dict]
    plans: dict[str, str]
    statements_unavailable: str | None
    baseline: dict[str, float]
    locust_json: str                       # what locust wrote, attached as evidence


@dataclass(frozen=True)
class LoadApi:
    """The API of ``test_load_slo.py`` under uvicorn on its seeded database, for the whole module."""

    url: str
    tenants: list[dict]
    owner: psycopg.Connection
    folder: Path                           # private: the tenants' tokens, locust's output
    statements_unavailable: str | None
    before: Counters                       # the database's counters before any request
    stop: Callable[[], None]               # stops the API (its pool's backends exit, their counts land)


@dataclass(frozen=True)
class CapacityEvidence:
    """How many simultaneous list requests reach the database, measured before the load."""

    profile: LoadProfile
    capacity: Capacity | None              # None: not asked by the profile, or not countable
    error: str | None                      # why it could not be counted


@dataclass(frozen=True)
class ProbeEvidence:
    """The probe of ``test_load_queries.py``: what list requests cost the database."""

    profile: LoadProfile
    statements_unavailable: str | None
    probes: tuple[ListProbe, ...] = ()     # single list requests: large/small tenant, two page sizes
    list_plan: dict | None = None          # EXPLAIN (GENERIC_PLAN, FORMAT JSON) of the page's statement
    list_plan_error: str | None = None
    list_statement: str | None = None      # that statement, as pg_stat_statements recorded it


# the probe's page sizes: a small page, and one ten times larger (both under the API's maximum)
PROBE_LIMITS = (5, 50)
LIST_TABLE = "work_items"


def _probe(url: str, tenants: list[dict], owner, spec, profile: LoadProfile,
           unavailable: str | None) -> ProbeEvidence:
    """Single list requests of the largest and a small tenant, and the plan of the page's statement."""
    large, small = _large(tenants), next((t for t in tenants if t["class"] == "small"), tenants[-1])
    if unavailable is not None:
        return ProbeEvidence(profile, unavailable)
    probes = [list_probe(url, large["token"], owner, spec.app_role, tenant_class=large["class"], limit=limit)
              for limit in PROBE_LIMITS]
    probes.append(list_probe(url, small["token"], owner, spec.app_role, tenant_class=small["class"],
                             limit=PROBE_LIMITS[0]))
    plan, statement, plan_error = page_plan(
        [s["query"] for s in probes[0].by_rows()],
        lambda query: json_plan(owner, query, spec.app_role, spec.binding, Principal(large["workspace_id"])),
        LIST_TABLE)
    return ProbeEvidence(profile, unavailable, tuple(probes), plan, plan_error, statement)


def _capacity(url: str, tenants: list[dict], connect, profile: LoadProfile) -> tuple[Capacity | None, str | None]:
    """How many simultaneous list requests reach the database; the reason when it could not be counted."""
    if profile.concurrent_requests is None:
        return None, None
    try:
        return requests_in_database(url, _large(tenants)["token"], connect, LIST_TABLE,
                                    profile.concurrent_requests), None
    except psycopg.Error as exc:      # the target's, not the harness's: judged, with the reason
        return None, f"could not hold {LIST_TABLE} to count requests: {str(exc).splitlines()[0]}"


def _large(tenants: list[dict]) -> dict:
    return next((t for t in tenants if t["class"] == "large"), tenants[0])


@pytest.fixture(scope="session")
def load_profile_in_use() -> LoadProfile:
    try:
        return load_profile(SLO_FILE)
    except ConfigError as exc:   # a configuration error stops the run (exit 2), never a test error
        pytest.exit(f"harness: error: {exc}", returncode=2)


def _seed(api: ApiTarget, profile: LoadProfile) -> list[dict]:
    mix = profile.tenants
    tenants = []
    for klass, count, items in (("large", mix.large, mix.items_large), ("small", mix.small, mix.items_small)):
        for i in range(count):
            t = api.create_api_tenant(f"load-{klass}-{i}", items=items)
            tenants.append({"workspace_id": str(t["workspace_id"]), "token": t["token"], "class": klass})
    return tenants


@contextmanager
def _seeded(module_adapter, module_database, spec, profile) -> Iterator[tuple[list[dict], psycopg.Connection,
                                                                               str | None, Callable]]:
    """The module's tenants seeded through the API capability, the owner's connection with
    pg_stat_statements on (or why not), and how to serve the API on that database."""
    api = require(module_adapter, "api", spec)
    tenants = _seed(api, profile)
    with module_database.connect_owner(autocommit=True) as owner:
        yield tenants, owner, enable_statements(owner), lambda: live_server(
            spec.api.asgi, api.api_environment(), spec.root, where=str(spec.path))


@pytest.fixture(scope="module")
def probe_evidence(module_adapter, module_database, harness_target, load_profile_in_use) -> ProbeEvidence:
    spec, profile = harness_target, load_profile_in_use
    with _seeded(module_adapter, module_database, spec, profile) as (tenants, owner, unavailable, serve), \
            serve() as url:
        return _probe(url, tenants, owner, spec, profile, unavailable)


@pytest.fixture(scope="module")
def load_api(module_adapter, module_database, harness_target, load_profile_in_use) -> Iterator[LoadApi]:
    spec, profile = harness_target, load_profile_in_use
    with _seeded(module_adapter, module_database, spec, profile) as (tenants, owner, unavailable, serve), \
            scratch_dir("harness-load-") as folder:   # recorded: a killed run's tokens go too
        before = read_counters(owner, spec.tenancy.schemas, unavailable is None)
        with ExitStack() as server:
            url = server.enter_context(serve())
            yield LoadApi(url, tenants, owner, Path(folder), unavailable, before, server.close)


@pytest.fixture(scope="module")
def load_capacity(load_api, module_database, load_profile_in_use) -> CapacityEvidence:
    """Before the load: the API's pool seen from the database (which also opens it for the load)."""
    capacity, error = _capacity(load_api.url, load_api.tenants, module_database.connect_owner,
                                load_profile_in_use)
    return CapacityEvidence(load_profile_in_use, capacity, error)


@pytest.fixture(scope="module")
def load_evidence(load_api, load_capacity, harness_target, load_profile_in_use) -> LoadEvidence:
    spec, profile, owner = harness_target, load_profile_in_use, load_api.owner
    tenants_file = load_api.folder / "tenants.json"
    fd = os.open(tenants_file, os.O_WRONLY | os.O_CREAT, 0o600)  # tokens: private
    with os.fdopen(fd, "w") as handle:
        json.dump(load_api.tenants, handle)
    env = {"LOADTEST_TENANTS": str(tenants_file), "LOADTEST_LARGE_USERS": str(profile.large_users)}
    out = load_api.folder / "locust"
    run = run_locust(profile, load_api.url, LOCUSTFILE, out, env, progress=sys.stderr)
    locust_json = (out / "locust.json").read_text(encoding="utf-8")
    load_api.stop()
    unavailable = load_api.statements_unavailable
    after = read_counters(owner, spec.tenancy.schemas, unavailable is None)
    statements = top_statements(owner) if unavailable is None else []
    plans = generic_plans(owner, statements, spec.app_role, spec.binding,
                          Principal(load_api.tenants[0]["workspace_id"])) if statements else {}
    return LoadEvidence(profile, run, load_api.before, after, statements, plans, unavailable, baseline_metrics(),
                        locust_json)
