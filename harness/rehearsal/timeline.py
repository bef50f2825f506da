"""The lock timeline of a live-load rehearsal, drawn with matplotlib (PNG bytes).

One picture per rehearsal: each workload operation as a point (when it started, how long it
took; failures in red), every migration step as a shaded band labelled with its revision and
direction, the lock budget as a line, and the number of workload backends waiting on a lock
(from the sampler) on a second axis. Drawing is separate from measuring: it takes the plain
:class:`~harness.rehearsal.live.LiveRehearsal` and returns bytes.
"""

from __future__ import annotations

import io

from harness.rehearsal.live import LiveRehearsal

__all__ = ["timeline_png"]


def timeline_png(report: LiveRehearsal, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5), dpi=100)
    try:
        for step in report.steps:
            over = step.longest_stall_s > report.budget_s
            ax.axvspan(step.start, max(step.end, step.start + 0.02),
                       color="tab:red" if over else ("tab:blue" if step.direction == "upgrade" else "tab:orange"),
                       alpha=0.25 if over else 0.12)
            ax.text(step.start, 1.0, f"{'+' if step.direction == 'upgrade' else '-'}{step.revision}",
                    transform=ax.get_xaxis_transform(), rotation=90, va="top", fontsize=7)
        ok = [o for o in report.operations if o.ok]
        bad = [o for o in report.operations if not o.ok]
        ax.scatter([o.started for o in ok], [o.seconds for o in ok], s=4, c="tab:green",
                   label="workload operation")
        ax.scatter([o.started for o in bad], [o.seconds for o in bad], s=6, c="tab:red",
                   label="failed operation")
        ax.axhline(report.budget_s, color="tab:red", linestyle="--", linewidth=1,
                   label=f"lock budget {report.budget_s:g} s")
        ax.set_xlabel("seconds since the rehearsal started")
        ax.set_ylabel("operation latency (s)")
        ax.set_yscale("symlog", linthresh=0.01)
        waits = ax.twinx()
        waits.step([s.at for s in report.samples], [s.blocked for s in report.samples],
                   where="post", color="tab:purple", linewidth=0.8, label="backends waiting on a lock")
        waits.set_ylabel("workload backends waiting")
        ax.set_title(title)
        handles = ax.get_legend_handles_labels()[0] + waits.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper right", fontsize=7)
        out = io.BytesIO()
        fig.tight_layout()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)
