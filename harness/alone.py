"""Tests marked ``alone`` run after every other test, one at a time, with nothing else running.

They judge time or load (locust SLOs, throughput ratios, restore and release windows), so another
worker's load must never decide their verdict. A serial run gives that already. Under
pytest-xdist with ``--dist loadfile`` (what ``./dev test`` and ``harness gate --workers`` use)
:class:`AloneLastScheduling` holds them back in the controller: every other test file is handed
out as usual; once all of them are done and every other worker has ended its session, the held
tests go to the one worker left, which runs them in collection order. It is one pytest run, so a
caller's own ``-m`` or ``-k`` selects as it always does, and the run starts its server once.
``--harness-alone anywhere`` (ini ``harness_alone``) turns this off.

The other files are handed out longest first as far as the run can know: files holding a test
marked ``slow`` before the rest (then, as xdist does, files with more tests first), so that a
long file does not start last and leave the other workers idle while it ends the parallel part.

The controller never collects; each worker names its ``alone`` and ``slow`` tests in a file of
the run directory, written before it reports its collection, so the file is there when the
controller schedules.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

__all__ = ["ALONE", "MODES", "SLOW", "AloneLastScheduling", "marked_ids", "record_marked_ids"]

ALONE = "alone"                  # the marker
SLOW = "slow"                    # files holding one are handed out first
MODES = ("last", "anywhere")     # --harness-alone: held back under xdist, or scheduled as any test
_IDS_FILE = "marked-{worker}.json"
_HELD_SCOPE = "alone "           # prefix of a held unit's scope (a file may hold both kinds)


def record_marked_ids(run_dir: Path, worker: str, items: list[pytest.Item]) -> None:
    """In an xdist worker: names the collected ``alone`` and ``slow`` tests for the scheduler."""
    marked = {marker: [item.nodeid for item in items if item.get_closest_marker(marker)]
              for marker in (ALONE, SLOW)}
    staged = run_dir / f".{_IDS_FILE.format(worker=worker)}"
    staged.write_text(json.dumps(marked), encoding="utf-8")
    staged.replace(run_dir / _IDS_FILE.format(worker=worker))   # never read half-written


def marked_ids(run_dir: Path) -> dict[str, frozenset[str]]:
    """Every test a worker named, per marker (workers collect the same tests; the union is safe)."""
    found: dict[str, set[str]] = {ALONE: set(), SLOW: set()}
    for path in run_dir.glob(_IDS_FILE.format(worker="*")):
        for marker, ids in json.loads(path.read_text(encoding="utf-8")).items():
            found.setdefault(marker, set()).update(ids)
    return {marker: frozenset(ids) for marker, ids in found.items()}


class AloneLastScheduling(LoadFileScheduling):
    """``--dist loadfile``, with the ``alone`` tests held back until every other test is done
    and every other worker has ended (its fixtures torn down), then run by the last worker.

    A worker runs a test only once it knows the next one (or is told to stop), so the worker
    kept for the held tests may still owe its last test when the others end: it runs that one,
    then the held tests, with no other worker left."""

    def __init__(self, config: pytest.Config, log, run_dir: Path) -> None:
        super().__init__(config, log)
        self._run_dir = run_dir
        self._alone: frozenset[str] = frozenset()
        self.held: OrderedDict[str, dict[str, bool]] = OrderedDict()
        self.alone_node = None        # the worker kept for the held tests

    @property
    def tests_finished(self) -> bool:
        return not self.held and super().tests_finished

    @property
    def has_pending(self) -> bool:
        return bool(self.held) or super().has_pending

    def _split_scope(self, nodeid: str) -> str:
        scope = super()._split_scope(nodeid)
        return _HELD_SCOPE + scope if nodeid in self._alone else scope

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        marked = marked_ids(self._run_dir)
        self._alone = marked[ALONE] & set(self.collection)
        units: OrderedDict[str, dict[str, bool]] = OrderedDict()
        for nodeid in self.collection:
            queue = self.held if nodeid in self._alone else units
            queue.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        if self.config.option.loadscopereorder:
            # longest first, as far as known: files with a slow test, then by number of tests
            units = OrderedDict(sorted(units.items(), key=lambda item: (
                not any(nodeid in marked[SLOW] for nodeid in item[1]), -len(item[1]))))
        self.workqueue.update(units)
        # more workers than files: the spare ones stop at once (one stays for the held tests)
        for _ in range(len(self.nodes) - max(len(self.workqueue), 1)):
            spare, _ = self.assigned_work.popitem()
            spare.shutdown()
        for node in self.nodes:
            if self.workqueue:
                self._assign_work_unit(node)
        for node in self.nodes:
            self._reschedule(node)

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if self.workqueue or not self.held:
            super()._reschedule(node)
            return
        if self.alone_node is None:
            self.alone_node = node    # the first worker out of work stays for the held tests
        if node is not self.alone_node:
            node.shutdown()
            return
        self._release_held()

    def remove_node(self, node) -> str | None:
        if node is self.alone_node:
            self.alone_node = None
        crashed = self.assigned_work.get(node, {})
        unfinished = [scope for scope, unit in crashed.items()
                      if scope.startswith(_HELD_SCOPE) and not all(unit.values())]
        crashitem = super().remove_node(node)   # puts unfinished units back into the workqueue
        for scope in unfinished:                # held ones are held again
            self.held[scope] = self.workqueue.pop(scope)
            self.held.move_to_end(scope, last=False)
        for other in self.nodes:
            self._reschedule(other)
        return crashitem

    def _release_held(self) -> None:
        node = self.alone_node
        if node is None or any(other is not node for other in self.assigned_work):
            return                    # another worker has not ended yet
        indices = []
        collection = self.registered_collections[node]
        while self.held:
            scope, unit = self.held.popitem(last=False)
            self.assigned_work[node][scope] = unit
            indices += [collection.index(nodeid) for nodeid, done in unit.items() if not done]
        if indices:
            node.send_runtest_some(indices)
