"""Running locust against a live API: a subprocess (never imported here), bounded in time.

:func:`run_locust` starts ``locust --headless`` with the profile's users, spawn rate and
duration against ``base_url`` (loopback only), writing ``--csv`` (with full history) and
``--json-file`` into ``out_dir``; with ``profile.workers`` > 0 it uses locust's own distributed
mode (one ``--master`` and N ``--worker`` processes, here on 127.0.0.1; on other machines the
same worker command points ``--master-host`` at the master). While it runs, a progress line
(elapsed, requests, current p95, users) goes to ``progress`` every few seconds. Every process it
started is stopped by PID if anything goes wrong, and the CPU the generator itself used is
measured from the children's resource usage.
"""

from __future__ import annotations

import csv
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.load.failures import LoadFailure
from harness.load.profiles import LoadProfile
from harness.load.stats import LoadStats, read_stats
from harness.processes import start_process, stop_process

__all__ = ["LoadRun", "locust_command", "run_locust"]

_GRACE_S = 60


@dataclass(frozen=True)
class LoadRun:
    stats: LoadStats
    out_dir: Path
    wall_s: float
    generator_cpu_s: float        # user + system CPU of every locust process
    processes: int                # locust processes (1, or master + workers)

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
        while processes[0].poll() is None:
            if time.monotonic() > deadline:
                raise LoadFailure(f"locust did not finish within {deadline - started:.0f} s; stopped it")
            if progress is not None and time.monotonic() >= next_line:
                line = _progress_line(out_dir / "locust_stats_history.csv", started, profile.duration_s)
                if line:
                    print(line, file=progress, flush=True)
                next_line += every_s
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
    return LoadRun(stats=stats, out_dir=out_dir, wall_s=wall, generator_cpu_s=cpu,
                   processes=len(processes))
