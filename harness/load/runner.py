"""Running locust against a live API: a subprocess (never imported here), bounded in time.

:func:`run_locust` starts ``locust --headless`` with the profile's users, spawn rate and
duration against ``base_url`` (loopback only), writing ``--csv`` (with full history) and
``--json-file`` into ``out_dir``; with ``profile.workers`` > 0 it uses locust's own distributed
mode (one ``--master`` and N ``--worker`` processes, here on 127.0.0.1; on other machines the
same worker command points ``--master-host`` at the master). While it runs, a progress line
(elapsed, requests, current p95, users) goes to ``progress`` every few seconds. Every process it
started is stopped by PID if anything goes wrong, and the CPU the generator itself used is
measured from the children's resource usage.

The profile's ``duration_s`` is a cap, not a fixed wait: once every user is running and the
rolling p50 and p95 of all requests (locust's current percentiles, over its last
:data:`LOCUST_WINDOW_S` seconds) have stayed within the profile's ``stable_tolerance`` of their
mean for :data:`STABLE_POINTS` seconds, the master is stopped with SIGTERM (locust then writes
its stats as at a timed end). :class:`LoadRun` says how long the load ran and why it stopped;
throughput is then counted over the time requests were actually sent.
"""

from __future__ import annotations

import csv
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from harness.load.failures import LoadFailure
from harness.load.profiles import LoadProfile
from harness.load.stats import LoadStats, read_stats
from harness.processes import start_process, stop_process

__all__ = ["LoadRun", "locust_command", "run_locust", "stable_percentiles"]

_GRACE_S = 60
LOCUST_WINDOW_S = 10      # locust's "current" percentiles cover about its last 10 s
STABLE_POINTS = 5         # history rows (one a second) whose percentiles must agree


@dataclass(frozen=True)
class LoadRun:
    stats: LoadStats
    out_dir: Path
    wall_s: float
    generator_cpu_s: float        # user + system CPU of every locust process
    processes: int                # locust processes (1, or master + workers)
    stopped: str = ""             # why the load ended: percentiles stable, or the duration cap

    @property
    def generator_cpu_share(self) -> float:
        """The generator's CPU as a share of one core over the run."""
        return self.generator_cpu_s / self.wall_s if self.wall_s else 0.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def locust_command(profile: LoadProfile, base_url: str, locustfile: Path, out_dir: Path,
                   master_port: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
               "-u", str(profile.users), "-r", str(profile.spawn_rate),
               "-t", f"{profile.duration_s}s", "--host", base_url, "--csv", str(out_dir / "locust"),
               "--csv-full-history", "--json-file", str(out_dir / "locust"), "--only-summary",
               "--stop-timeout", "5", "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    if master_port is not None:
        command += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                    str(master_port), "--expect-workers", str(profile.workers),
                    "--expect-workers-max-wait", "60"]
    return command


def _worker_command(locustfile: Path, master_port: int) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker", "--master-host",
            "127.0.0.1", "--master-port", str(master_port), "--loglevel", "WARNING"]


def _progress_line(history: Path, started: float, duration: int) -> str | None:
    try:
        with history.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    except OSError:
        return None
    if not rows:
        return None
    last = rows[-1]
    return (f"load: {time.monotonic() - started:4.0f}s of {duration}s, "
            f"{last.get('Total Request Count', '0')} requests, p95 {last.get('95%', 'N/A')} ms, "
            f"{last.get('User Count', '0')} users")


def _aggregated_history(history: Path) -> list[dict[str, str]]:
    try:
        with history.open(newline="", encoding="utf-8") as handle:
            return [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    except OSError:
        return []


def stable_percentiles(rows: list[dict[str, str]], users: int, tolerance: float) -> bool:
    """The last :data:`STABLE_POINTS` history rows, all at full ``users``, and after locust's
    percentile window has filled at full load, have p50 and p95 within ``tolerance`` of their
    mean."""
    full = [r for r in rows if _number(r.get("User Count")) == users]
    if len(full) < LOCUST_WINDOW_S + STABLE_POINTS:
        return False
    last = full[-STABLE_POINTS:]
    for column in ("50%", "95%"):
        values = [_number(r.get(column)) for r in last]
        if any(v is None for v in values):
            return False
        mean = sum(values) / len(values)
        # locust keeps response times to the millisecond: 1 ms is always within tolerance
        if any(abs(v - mean) > max(tolerance * mean, 1.0) for v in values):
            return False
    return True


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None


def _sent_for(stats: LoadStats) -> float | None:
    """Seconds between the first and the last request locust recorded."""
    firsts = [e.first for e in stats.entries.values() if e.first is not None]
    lasts = [e.last for e in stats.entries.values() if e.last is not None]
    return max(lasts) - min(firsts) if firsts and lasts and max(lasts) > min(firsts) else None


def run_locust(profile: LoadProfile, base_url: str, locustfile: Path, out_dir: Path,
               env: dict[str, str], progress: TextIO | None = None,
               every_s: float = 5.0) -> LoadRun:
    """Runs the profile's load against ``base_url``; returns what locust measured."""
    if not base_url.startswith(("http://127.0.0.1", "http://[::1]", "http://localhost")):
        raise LoadFailure(f"refusing to send load to {base_url}: loopback only")
    out_dir.mkdir(parents=True, exist_ok=True)
    master_port = _port() if profile.workers > 0 else None
    full_env = {**os.environ, **env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes: list[subprocess.Popen] = []
    log = (out_dir / "locust.log").open("w", encoding="utf-8")
    try:
        processes.append(start_process(
            locust_command(profile, base_url, locustfile, out_dir, master_port), "locust",
            env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for index in range(profile.workers):
            processes.append(start_process(_worker_command(locustfile, master_port),
                                           f"locust worker {index + 1}", env=full_env,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))
        deadline = started + profile.duration_s + _GRACE_S + (60 if profile.workers else 0)
        next_line = started + every_s
        next_check = started + 1.0
        stopped = f"cap: the profile's duration_s, {profile.duration_s} s"
        history = out_dir / "locust_stats_history.csv"
        while processes[0].poll() is None:
            now = time.monotonic()
            if now > deadline:
                raise LoadFailure(f"locust did not finish within {deadline - started:.0f} s; stopped it")
            if progress is not None and now >= next_line:
                line = _progress_line(history, started, profile.duration_s)
                if line:
                    print(line, file=progress, flush=True)
                next_line += every_s
            if profile.stable_tolerance is not None and now >= next_check and \
                    stopped.startswith("cap") and \
                    stable_percentiles(_aggregated_history(history), profile.users,
                                       profile.stable_tolerance):
                stopped = (f"stable: p50 and p95 within {profile.stable_tolerance:.0%} of their "
                           f"mean for {STABLE_POINTS} s at {profile.users} users, after "
                           f"{now - started:.1f} s")
                processes[0].send_signal(signal.SIGTERM)   # locust writes its stats and exits
            if now >= next_check:
                next_check = now + 1.0
            time.sleep(0.2)
        for worker in processes[1:]:
            worker.wait(30)
    finally:
        for process in processes:
            stop_process(process)
        log.close()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    json_file = out_dir / "locust.json"
    if processes[0].returncode != 0 or not json_file.is_file():
        tail = (out_dir / "locust.log").read_text(errors="replace")[-1500:]
        raise LoadFailure(f"locust exited with {processes[0].returncode} and wrote no stats",
                          [("locust output", tail)])
    stats = read_stats(json_file, out_dir / "locust_stats_history.csv", float(profile.duration_s))
    if stopped.startswith("stable"):
        # stopped early: throughput over the time requests were actually sent
        stats = replace(stats, duration_s=_sent_for(stats) or stats.duration_s)
    return LoadRun(stats=stats, out_dir=out_dir, wall_s=wall, generator_cpu_s=cpu,
                   processes=len(processes), stopped=stopped)
