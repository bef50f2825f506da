"""What locust measured: its ``--json-file`` (per request name: counts and the response-time
histogram) and ``--csv`` history (percentiles over time), read into plain dataclasses.

Requests are named ``"<METHOD> <path template> [<tenant class>]"`` by the locustfiles, so one
endpoint's figures are the merge of its classes, and a class's figures (``[small]``) can be read
on their own. Percentiles are computed from locust's histogram (milliseconds, rounded the way
locust rounds them), the way its own report does.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError

__all__ = ["EndpointStats", "HistoryPoint", "LoadStats", "read_stats", "split_name"]

_CLASS = re.compile(r"^(?P<endpoint>.+?)\s+\[(?P<klass>[a-z0-9_-]+)\]$")
_METHOD = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) ")


def _full_name(method: str, name: str) -> str:
    """Names that already start with a method are kept; others get locust's method in front."""
    return name if not method or name == "Aggregated" or _METHOD.match(name) else f"{method} {name}"


def split_name(name: str) -> tuple[str, str | None]:
    """``"GET /v1/work-items [small]"`` -> ``("GET /v1/work-items", "small")``."""
    match = _CLASS.match(name)
    return (match["endpoint"], match["klass"]) if match else (name, None)


@dataclass
class EndpointStats:
    name: str
    requests: int = 0
    failures: int = 0
    histogram: Counter = field(default_factory=Counter)   # response time (ms) -> count
    first: float | None = None                             # epoch seconds
    last: float | None = None

    def merge(self, other: EndpointStats) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.histogram.update(other.histogram)
        firsts = [t for t in (self.first, other.first) if t is not None]
        lasts = [t for t in (self.last, other.last) if t is not None]
        self.first, self.last = (min(firsts) if firsts else None), (max(lasts) if lasts else None)

    def percentile(self, fraction: float) -> float | None:
        total = sum(self.histogram.values())
        if total == 0:
            return None
        wanted = fraction * total
        seen = 0
        for value in sorted(self.histogram):
            seen += self.histogram[value]
            if seen >= wanted:
                return float(value)
        return float(max(self.histogram))

    @property
    def mean(self) -> float | None:
        """Mean response time in ms, from the histogram (the times as locust rounded them)."""
        total = sum(self.histogram.values())
        return None if total == 0 else sum(ms * n for ms, n in self.histogram.items()) / total

    @property
    def error_ratio(self) -> float | None:
        return None if self.requests == 0 else self.failures / self.requests

    def rps(self, duration_s: float) -> float:
        return self.requests / duration_s if duration_s > 0 else 0.0


@dataclass(frozen=True)
class HistoryPoint:
    timestamp: float
    name: str
    users: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass
class LoadStats:
    entries: dict[str, EndpointStats]      # by the full request name
    history: list[HistoryPoint]
    duration_s: float

    def endpoint(self, endpoint: str, klass: str | None = None) -> EndpointStats:
        """One endpoint (all its tenant classes, or one class); empty when never requested."""
        merged = EndpointStats(endpoint if klass is None else f"{endpoint} [{klass}]")
        for name, entry in self.entries.items():
            base, cls = split_name(name)
            if base == endpoint and (klass is None or cls == klass):
                merged.merge(entry)
        return merged

    def endpoints(self) -> list[str]:
        return sorted({split_name(name)[0] for name in self.entries})

    def total_requests(self) -> int:
        return sum(e.requests for e in self.entries.values())


def _entry(where: str, raw: dict) -> EndpointStats:
    try:
        name = _full_name(str(raw.get("method") or ""), str(raw["name"]))
        histogram = Counter({int(float(k)): int(v) for k, v in (raw.get("response_times") or {}).items()})
        return EndpointStats(name=name, requests=int(raw["num_requests"]),
                             failures=int(raw["num_failures"]), histogram=histogram,
                             first=raw.get("start_time"), last=raw.get("last_request_timestamp"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(where, "entries", f"not a locust stats entry ({type(exc).__name__}: {exc})",
                          "pass the file locust wrote with --json-file") from None


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_stats(json_file: Path, history_csv: Path | None, duration_s: float) -> LoadStats:
    """Reads locust's JSON stats and (if present) its stats history CSV."""
    where = str(json_file)
    try:
        raw = json.loads(json_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(where, "", f"cannot be read as JSON ({type(exc).__name__})",
                          "let locust write it with --json-file") from None
    if not isinstance(raw, list):
        raise ConfigError(where, "", "must be a list of stats entries", "pass locust's --json-file output")
    entries: dict[str, EndpointStats] = {}
    for item in raw:
        entry = _entry(where, item)
        if entry.name in entries:
            entries[entry.name].merge(entry)
        else:
            entries[entry.name] = entry
    history = []
    if history_csv is not None and history_csv.is_file():
        with history_csv.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                name = _full_name(row.get("Type") or "", row.get("Name") or "")
                history.append(HistoryPoint(
                    timestamp=_float(row.get("Timestamp")) or 0.0, name=name,
                    users=int(_float(row.get("User Count")) or 0), rps=_float(row.get("Requests/s")) or 0.0,
                    p50=_float(row.get("50%")), p95=_float(row.get("95%")), p99=_float(row.get("99%"))))
    return LoadStats(entries=entries, history=history, duration_s=duration_s)
