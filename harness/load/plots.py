"""Latency plots for the packet, drawn with matplotlib (SVG, shown inline by the packet page).

- percentiles over time: p50 / p95 / p99 of all requests from locust's stats history, with the
  user count on a second axis, so a stall or a warm-up is visible;
- per endpoint: p50 / p95 / p99 side by side against each endpoint's p95 ceiling.
"""

from __future__ import annotations

import io

from harness.load.profiles import LoadProfile
from harness.load.stats import LoadStats

__all__ = ["endpoint_percentiles_svg", "percentiles_over_time_svg"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; chosen here, not at import, so importing costs nothing
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    _pyplot().close(fig)
    return out.getvalue()


def percentiles_over_time_svg(stats: LoadStats, title: str) -> bytes | None:
    points = [p for p in stats.history if p.name == "Aggregated" and p.p95 is not None]
    if not points:
        return None
    plt = _pyplot()
    start = points[0].timestamp
    seconds = [p.timestamp - start for p in points]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for label, values in (("p50", [p.p50 for p in points]), ("p95", [p.p95 for p in points]),
                          ("p99", [p.p99 for p in points])):
        ax.plot(seconds, values, label=label, linewidth=1.6)
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    users = ax.twinx()
    users.plot(seconds, [p.users for p in points], color="grey", linestyle=":", label="users")
    users.set_ylabel("users")
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = users.get_legend_handles_labels()
    ax.legend(lines + more, labels + more_labels, loc="upper left", fontsize=8)
    return _svg(fig)


def endpoint_percentiles_svg(stats: LoadStats, profile: LoadProfile) -> bytes | None:
    names = [e.name for e in profile.endpoints if stats.endpoint(e.name).requests]
    if not names:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.5))
    width = 0.25
    for offset, (label, fraction) in enumerate((("p50", 0.5), ("p95", 0.95), ("p99", 0.99))):
        ax.barh([i + offset * width for i in range(len(names))],
                [stats.endpoint(n).percentile(fraction) or 0 for n in names], height=width, label=label)
    ceilings = [profile.endpoint(n).p95_ms for n in names]
    for i, ceiling in enumerate(ceilings):
        if ceiling is not None:
            ax.plot([ceiling, ceiling], [i - width / 2, i + 2.5 * width], color="red", linewidth=1)
    ax.set_yticks([i + width for i in range(len(names))], names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("latency (ms); red: the p95 ceiling")
    ax.set_title(f"latency per endpoint ({profile.name} profile)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)
