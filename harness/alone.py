"""Tests marked ``alone`` run after every other test, one at a time, with nothing else running.

They judge time or load (locust SLOs, throughput ratios, restore and release windows), so another
worker's load must never decide their verdict. A serial run gives that already. Under
pytest-xdist with ``--dist loadfile`` (what ``./dev test`` and ``harness gate --workers`` use)
:class:`AloneLastScheduling` holds them back in the controller: every other test file is handed
out as usual; once all of them are done and every other worker has ended its session, the held
tests go to the one worker left, which runs them in collection order. It is one pytest run, so a
caller's own ``-m`` or ``-k`` selects as it always does, and the run starts its server once.
``--harness-alone anywhere`` (ini ``harness_alone``) turns this off.

The controller never collects; each worker names its ``alone`` tests in a file of the run
directory, written before it reports its collection, so the file is there when the controller
schedules.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

__all__ = ["ALONE", "MODES", "AloneLastScheduling", "alone_ids", "record_alone_ids"]

ALONE = "alone"                  # the marker
MODES = ("last", "anywhere")     # --harness-alone: held back under xdist, or scheduled as any test
_IDS_FILE = "alone-{worker}.txt"
_HELD_SCOPE = "alone "           # prefix of a held unit's scope (a file may hold both kinds)


def record_alone_ids(run_dir: Path, worker: str, items: list[pytest.Item]) -> None:
    """In an xdist worker: names the collected ``alone`` tests for the controller's scheduler."""
    ids = "".join(f"{item.nodeid}\n" for item in items if item.get_closest_marker(ALONE))
    staged = run_dir / f".{_IDS_FILE.format(worker=worker)}"
    staged.write_text(ids, encoding="utf-8")
    staged.replace(run_dir / _IDS_FILE.format(worker=worker))   # never read half-written


def alone_ids(run_dir: Path) -> frozenset[str]:
    """Every test a worker named as ``alone`` (workers collect the same tests; the union is safe)."""
    found: set[str] = set()
    for path in run_dir.glob(_IDS_FILE.format(worker="*")):
        found.update(line for line in path.read_text(encoding="utf-8").splitlines() if line)
    return frozenset(found)


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
        self._alone = alone_ids(self._run_dir) & set(self.collection)
        units: OrderedDict[str, dict[str, bool]] = OrderedDict()
        for nodeid in self.collection:
            queue = self.held if nodeid in self._alone else units
            queue.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        if self.config.option.loadscopereorder:
            units = OrderedDict(sorted(units.items(), key=lambda item: -len(item[1])))
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
