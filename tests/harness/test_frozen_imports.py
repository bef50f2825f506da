"""The plugin moves what a run holds once its tests are collected (pytest, the suites, the
target's adapter) out of the cyclic collector's reach (``harness.plugin.pytest_collection_finish``:
:func:`gc.freeze`); what a test makes afterwards is collected as before."""

from __future__ import annotations

import gc
import weakref


def test_what_the_run_imported_is_frozen_and_a_new_cycle_is_still_collected():
    assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()

    class Node:
        other: Node

    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
