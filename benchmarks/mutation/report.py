"""The mutation report a reviewer reads: plain data in (``report.json``'s shape), Markdown out."""

from __future__ import annotations

import os
from collections import Counter

__all__ = ["render"]

_VERDICTS = ("killed", "killed-error", "timeout", "survived", "equivalent")


def render(report: dict) -> str:
    lines = ["# Mutation report", "",
             f"Command: `{report['command']}`  ",
             f"Seed {report['seed']}; took {report['seconds']:.0f} s on {os.cpu_count()} cores "
             "(one family at a time, one shared server).", "",
             "| family | gates | score | killed | run | sampled from | equivalent | time | s / mutant |",
             "|---|---|---|---|---|---|---|---|---|"]
    for f in report["families"]:
        score = "n/a" if f["score"] is None else f"{f['score']:.0%}"
        per = f"{f['mutant_seconds'] / f['mutants_run']:.0f}" if f["mutants_run"] else "-"
        lines.append(f"| {f['family']} | {' '.join(f['gates'])} | {score} | {f['killed']} | {f['mutants_run']} "
                     f"| {f['sampled_from']} | {len(f['equivalent'])} | {f['seconds']:.0f} s | {per} |")
    lines += ["", "Score: killed (by a failed item, an error or a timeout) / mutants run. Equivalent "
              "mutants are not run and not counted; each carries its reason below."]
    for f in report["families"]:
        lines += _family(f)
    return "\n".join(lines) + "\n"


def _family(f: dict) -> list[str]:
    lines = ["", f"## {f['family']}", "",
             f"Sources: {', '.join(f'`{s}`' for s in f['sources'])}  ",
             f"Clean reference: {f['clean_seconds']:.0f} s; mutants: {f['mutant_seconds']:.0f} s "
             f"({f['mutants_run']} run). Test files in order (cheapest first): "
             f"{', '.join(f['order']) or 'as collected'}.", "",
             "| operator | " + " | ".join(_VERDICTS) + " |", "|---" * (len(_VERDICTS) + 1) + "|"]
    for op, counts in f["per_operator"].items():
        lines.append(f"| {op} | " + " | ".join(str(counts.get(v, 0)) for v in _VERDICTS) + " |")
    survivors = [o for o in f["outcomes"] if o["verdict"] == "survived"]
    lines += ["", f"Survivors ({len(survivors)}):", ""]
    lines += [f"- `{o['mutant']}` {o['where']} ({o['seconds']:.0f} s)"
              + (f"  \n  why it survives: {o['note']}" if o.get("note") else "")
              for o in survivors] or ["- none"]
    lines += ["", "Killed:", ""]
    lines += [f"- `{o['mutant']}` {o['verdict']} in {o['seconds']:.0f} s: {o['reason']} ({o['where']})"
              for o in f["outcomes"] if o["verdict"] != "survived"] or ["- none"]
    lines += ["", "Equivalent, not run (each with its reason):", ""]
    lines += [f"- `{e['mutant']}` {e['where']}: {e['reason']}" for e in f["equivalent"]] or ["- none"]
    if f.get("stale_explanations"):
        lines += ["", "Written explanations whose mutant no longer exists (the source moved): "
                  + ", ".join(f"`{m}`" for m in f["stale_explanations"])]
    reasons = Counter(e["reason"] for e in f["equivalent"])
    if reasons:
        lines += ["", "Equivalence reasons, counted:", ""]
        lines += [f"- {n} x {reason}" for reason, n in reasons.most_common()]
    return lines
