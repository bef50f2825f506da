"""Whose fault an exception in a test body is (:mod:`harness.blame`), both directions.

Unit level, with real exceptions: a database error raised inside a routine of the target (on a
real server), an exception raised in the target's code, and a 5xx the target's API answered are
the target's; a harness bug, an anonymous DO block, a connection that fails and a KeyError in
harness code called by the target are not. End to end: a planted target exception in a test
body comes out **failed** on its item with the exception attached, and a planted harness bug
stays **error** on its own item, in the packet ``harness packet build`` writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import httpx
import psycopg
import pytest

from harness import blame
from tests.harness.conftest import ROOT, run_pytest

TARGET = frozenset({"planted_target"})
TARGET_CODE = '''
def consume(ledger, key):
    return ledger[key]          # the target's bug: an unknown key raises


def through_harness(call):
    return call()
'''


def _module(name: str, code: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def _raised(call) -> BaseException:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001  (the exception is the subject)
        return exc
    raise AssertionError("nothing was raised")


def test_an_exception_from_the_targets_code_is_the_targets():
    target = _module("planted_target", TARGET_CODE)
    why = blame.blame(_raised(lambda: target.consume({}, "k")), TARGET)
    assert why is not None and "planted_target:3 (consume)" in why.reason


def test_a_harness_bug_stays_the_harness_even_when_the_target_called_it():
    target = _module("planted_target", TARGET_CODE)
    assert blame.blame(_raised(lambda: {}["k"]), TARGET) is None
    # the innermost owned frame decides: harness code the target called is still the harness
    assert blame.blame(_raised(lambda: target.through_harness(lambda: {}["k"])), TARGET) is None


def test_the_environment_is_never_the_target():
    target = _module("planted_target", "import psycopg\ndef connect():\n    raise psycopg.OperationalError('refused')\n"
                                       "def disk():\n    raise OSError(28, 'no space')\n")
    assert blame.blame(_raised(target.connect), TARGET) is None
    assert blame.blame(_raised(target.disk), TARGET) is None


def test_a_group_is_the_targets_only_when_every_exception_in_it_is():
    target = _module("planted_target", TARGET_CODE)
    ours, theirs = _raised(lambda: {}["k"]), _raised(lambda: target.consume({}, "k"))
    assert blame.blame(ExceptionGroup("g", [theirs, AssertionError("x")]), TARGET) is not None
    assert blame.blame(ExceptionGroup("g", [theirs, ours]), TARGET) is None


def test_a_5xx_from_the_targets_api_blames_the_target_for_what_broke_after_it():
    blame.clear_responses()
    broke = _raised(lambda: {}["id"])
    assert blame.blame(broke, TARGET) is None
    blame.note_response(httpx.Response(404, request=httpx.Request("GET", "http://t/v1/x")))
    assert blame.blame(broke, TARGET) is None
    blame.note_response(httpx.Response(503, request=httpx.Request("POST", "http://t/v1/x")))
    why = blame.blame(broke, TARGET)
    assert why is not None and "503" in why.reason
    failure = blame.target_failure(broke, why)
    assert "POST http://t/v1/x -> 503" in dict(failure.context)["server errors the target's API answered"]
    blame.clear_responses()


def test_a_database_error_inside_the_targets_routine_is_the_targets(owner_conn):
    owner_conn.execute("create function planted_consume(n int) returns int language plpgsql as "
                       "$$ begin return 10 / n; end $$")
    inside = _raised(lambda: owner_conn.execute("select planted_consume(0)"))
    why = blame.blame(inside, frozenset())
    assert why is not None and "planted_consume" in why.reason
    sections = dict(blame.target_failure(inside, why).context)
    assert "sqlstate: 22012" in sections["SQLSTATE and server diagnostics"]
    # the harness's own SQL: a DO block, a typo
    block = _raised(lambda: owner_conn.execute("do $$ begin perform 1 / 0; end $$"))
    typo = _raised(lambda: owner_conn.execute("selec 1"))
    assert isinstance(block, psycopg.Error) and blame.blame(block, frozenset()) is None
    assert isinstance(typo, psycopg.Error) and blame.blame(typo, frozenset()) is None


PLANTED_ADAPTER = '''
from reference_impl.adapter import ReferenceAdapter


class Planted(ReferenceAdapter):
    @staticmethod
    def reconcile_from_ledger(ledger):
        return ledger["missing"]        # the target's own bug
'''

PLANTED_TESTS = '''
import pytest


@pytest.mark.evidence("S09.billing-reconciliation")
def test_the_target_raises(harness_target):
    harness_target.load_adapter_class().reconcile_from_ledger({})


@pytest.mark.evidence("S09.duplicate-webhook-dedupe")
def test_the_harness_has_a_bug(harness_target):
    expected = {"stored": 1}
    assert expected["stroed"] == 1
'''


@pytest.mark.slow
def test_a_planted_target_exception_fails_its_item_and_a_harness_bug_stays_an_error(pytester_dir: Path):
    (pytester_dir / "planted_adapter.py").write_text(PLANTED_ADAPTER)
    (pytester_dir / "target.yaml").write_text(
        f"extends: {ROOT / 'target.yaml'}\nadapter: planted_adapter.py:Planted\n")
    (pytester_dir / "test_planted.py").write_text(PLANTED_TESTS)
    results = pytester_dir / "results"
    run = run_pytest(pytester_dir, "test_planted.py", "--harness-target", str(pytester_dir / "target.yaml"),
                     "--alluredir", str(results), "-p", "no:randomly")
    statuses = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        statuses[result["name"]] = result
    assert statuses["test_the_target_raises"]["status"] == "failed", run.stdout[-3000:]
    assert statuses["test_the_harness_has_a_bug"]["status"] == "broken", run.stdout[-3000:]
    assert "the target raised KeyError: 'missing'" in statuses["test_the_target_raises"]["statusDetails"]["message"]
    attached = {a["name"] for a in statuses["test_the_target_raises"].get("attachments", [])}
    assert {"why this is the target's", "the target's exception"} <= attached

    out = pytester_dir / "packets"
    subprocess.run([sys.executable, "-m", "harness", "packet", "build", "--results", str(results),
                    "--gate", "S09", "--target", str(pytester_dir / "target.yaml"), "--out", str(out),
                    "--catalog", str(ROOT / "gates.yaml"), "--no-allure", "-q"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    items = {i["id"]: i["status"] for i in json.loads((out / "S09" / "packet.json").read_text())["items"]}
    assert items["S09.billing-reconciliation"] == "failed"
    assert items["S09.duplicate-webhook-dedupe"] == "error"
