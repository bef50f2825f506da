"""``harness doctor``: which database backends work on this machine, and why not.

It also reports what killed runs left behind (a postmaster still running, ``server.json`` with
its passwords, a rehearsal cluster, uvicorn or locust and their folders): the next test run
removes them (:mod:`harness.leftovers`), and so does ``harness doctor --reap``.
"""

from __future__ import annotations

from harness.backends import REGISTRY, Diagnosis
from harness.leftovers import StaleRun, find_stale_runs, remove
from harness.target import TargetSpec

__all__ = ["diagnose_all", "reap", "render"]


def diagnose_all(spec: TargetSpec) -> list[Diagnosis]:
    results = []
    for name in REGISTRY:
        try:
            target = spec.with_backend(name)
        except Exception as exc:  # e.g. dsn without a DSN: that is the diagnosis
            results.append(Diagnosis(name, False, str(exc)))
            continue
        backend = REGISTRY[name](target)
        try:
            results.append(backend.diagnose())
        except Exception as exc:
            results.append(Diagnosis(name, False, f"{type(exc).__name__}: {exc}"))
    return results


def reap() -> list[str]:
    """Removes what killed runs left behind, now; one line per run removed."""
    return [f"removed {stale.describe()}" for stale in find_stale_runs() if remove(stale)]


def render(spec: TargetSpec, results: list[Diagnosis], stale: list[StaleRun] | None = None) -> str:
    lines = [f"target {spec.name} ({spec.path.name}); selected backend: {spec.database.backend}"]
    for d in results:
        mark = "ok " if d.works else "no "
        lines.append(f"  {mark} {d.backend:<9} {d.detail}")
    stale = find_stale_runs() if stale is None else stale
    if stale:
        lines.append(f"left behind by {len(stale)} killed run(s); the next test run removes them:")
        lines += [f"  !   {run.describe()} ({run.directory})" for run in stale]
    else:
        lines.append("left behind by killed runs: nothing")
    return "\n".join(lines)
