"""Plot geometry for the HTML packet: numbers in, bar positions out; the SVG is in the template.

A reviewer reads measured values (latency percentiles, recovery times) faster as bars against
their threshold than as a table. For each item that measured something, metrics are grouped by
unit and laid out as horizontal bars on a shared scale, with the threshold marked. Everything is
in percent of the plot's width so the template only sizes boxes; each bar's label sits on its
own line above it, so labels never run into each other or into the bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Bar", "Plot", "plots_by_item", "plots_for"]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    width_pct: float
    threshold_pct: float | None
    threshold: float | None
    comparison: str | None
    ok: bool | None
    threshold_from: str | None = None


@dataclass(frozen=True)
class Plot:
    item: str
    title: str
    unit: str
    scale_max: float
    bars: tuple[Bar, ...]


def plots_for(packet: dict[str, Any]) -> list[Plot]:
    plots = []
    for item in packet["items"]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for metric in item.get("metrics") or []:
            groups.setdefault(metric.get("unit") or "", []).append(metric)
        for unit, metrics in sorted(groups.items()):
            top = max([abs(m["value"]) for m in metrics]
                      + [abs(m["threshold"]) for m in metrics if m.get("threshold") is not None])
            scale = top * 1.1 if top > 0 else 1.0
            bars = tuple(
                Bar(label=_label(m, sum(x["name"] == m["name"] for x in metrics) > 1), value=m["value"],
                    width_pct=round(max(0.0, m["value"]) / scale * 100, 2),
                    threshold_pct=(round(max(0.0, m["threshold"]) / scale * 100, 2)
                                   if m.get("threshold") is not None else None),
                    threshold=m.get("threshold"), comparison=m.get("comparison"), ok=m.get("ok"),
                    threshold_from=m.get("threshold_from"))
                for m in metrics)
            title = f"{item['id']}" + (f" ({unit})" if unit else "")
            plots.append(Plot(item=item["id"], title=title, unit=unit, scale_max=scale, bars=bars))
    return plots


def plots_by_item(packet: dict[str, Any]) -> dict[str, list[Plot]]:
    """The plots of each item, to show beside the item in the items table."""
    grouped: dict[str, list[Plot]] = {}
    for plot in plots_for(packet):
        grouped.setdefault(plot.item, []).append(plot)
    return grouped


def _label(metric: dict[str, Any], with_test: bool) -> str:
    # the test's name only where two tests measured the same metric: it is long, and rarely needed
    return f"{metric['name']} · {metric['test']}" if with_test else str(metric["name"])
