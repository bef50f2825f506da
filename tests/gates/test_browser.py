"""index.html opened in headless Chromium, as a release lead would, on a GO and a NO-GO packet.

Besides the DOM (the decision banner, one row per evidence item), the layout Chromium computed is
checked: the first screen reads banner, then "Why NO-GO", then the items table; the table never
scrolls sideways; the measured-value labels do not run into each other or into their bars; every
traceback is folded in a closed ``<details>``. The layout is read by a copy of the page with a
probe script added (the packet itself allows no script); screenshots of the packet itself go to
the test's own output folder. Chromium is a CI requirement (.ci/run installs Debian's package):
when it is missing this test fails, it does not skip."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.render import SECTIONS
from harness.gates.waivers import Waiver
from tests.gates.conftest import NOW, TODAY

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars"]
WIDTHS = (1280, 900)
TRACE = 'Traceback (most recent call last):\n  File "scenarios/x.py", line 12, in test\n    seed()\n' * 20
LONG_NAME = "test_a_member_of_one_workspace_never_reads_another_workspaces_rows_through_any_view" \
            "[workspace_with_a_very_long_identifier_that_does_not_break]"

# Runs in the probe copy only: measures what Chromium laid out and writes it into the DOM.
PROBE = """
<script>
(function () {
  const box = (e) => e.getBoundingClientRect();
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
                            a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const table = document.querySelector("table.items");
  const collisions = [];
  for (const plot of document.querySelectorAll(".plot")) {
    const parts = [...plot.querySelectorAll(".bar-label, .bar-track")];
    for (let i = 0; i < parts.length; i++)
      for (let j = i + 1; j < parts.length; j++)
        if (overlap(box(parts[i]), box(parts[j]))) collisions.push(parts[i].textContent.trim());
  }
  const cells = [...document.querySelectorAll("table.items td")];
  const traces = [...document.querySelectorAll("pre")].filter((p) => p.textContent.includes("Traceback"));
  const out = {
    page: {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth},
    table: {scroll: table.scrollWidth, client: table.clientWidth, right: box(table).right,
            section_right: box(table.closest("section")).right},
    cells_overflowing: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).length,
    sections: [...document.querySelectorAll("header[id], section[id]")].map((s) => [s.id, box(s).top]),
    why_lines: document.querySelectorAll("#why li.why-line").length,
    collisions: collisions,
    bars: document.querySelectorAll(".bar-row").length,
    traces: traces.length,
    // folded: inside a closed <details>, and Chromium agrees it is not rendered
    traces_folded: traces.filter((p) => { const d = p.closest("details"); return d && !d.open &&
                                          !p.checkVisibility(); }).length,
    open_details_with_trace: [...document.querySelectorAll("details[open]")]
      .filter((d) => d.textContent.includes("Traceback")).length,
  };
  const pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is required for the packet DOM check and was not found: "
                    "install Debian's 'chromium' package (apt-get install chromium), as .ci/run does",
                    pytrace=False)
    return found


class Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.probe = ""
        self._in_probe = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        self._in_probe = attributes.get("id") == "layout-probe"

    def handle_data(self, data):
        if self._in_probe:
            self.probe += data

    def handle_endtag(self, tag):
        self._in_probe = False

    def all(self, tag: str, css_class: str | None = None, **attrs: str):
        return [a for t, a in self.elements
                if t == tag and (css_class is None or css_class in (a.get("class") or "").split())
                and all(a.get(k) == v for k, v in attrs.items())]


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def screenshot(page: Path, to: Path, width: int, profile: Path) -> None:
    run_chromium([f"--screenshot={to}", f"--window-size={width},2400", page.as_uri()], profile)
    assert to.is_file() and to.stat().st_size > 10_000, to


def layout(page: Path, width: int, profile: Path) -> tuple[Dom, dict]:
    """The DOM and the layout probe's measures of a copy of ``page`` that may run the probe."""
    html = page.read_text(encoding="utf-8")
    csp = html.index('<meta http-equiv="Content-Security-Policy"')
    html = html[:csp] + html[html.index(">", csp) + 1:]
    probe = page.with_name("layout-probe.html")
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        done = run_chromium([f"--window-size={width},2400", "--dump-dom", probe.as_uri()], profile)
    finally:
        probe.unlink()
    dom = Dom(done.stdout)
    assert dom.probe, "the probe script did not run"
    return dom, json.loads(dom.probe)


def nogo_packet(catalog, results, tmp_path, target):
    """Everything that made the old first screen hard to read: seven tests broken by one cause,
    long names, an adapter gap, a missed threshold on a test item, many measured values."""
    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",))
    results.add(LONG_NAME, "failed", evidence=("S03.cross-tenant-negatives",),
                message="AssertionError: workspace B read 3 rows of workspace A through notes_view",
                trace=TRACE, attachments=(("rows seen", "application/json", b'[{"id": 1}]'),))
    for n in range(7):
        results.add(f"test_audit_{n}", "broken", evidence=("S03.audit-trail",),
                    message="RuntimeError: could not seed the workspace: fixture crashed", trace=TRACE)
    results.add("test_capability", "failed", evidence=("S03.query-latency",),
                message="harness.capabilities.CapabilityMissing: adapter Basejump lacks the "
                        "'counters' capability (Counters): missing consume, reset", trace=TRACE)
    results.add("test_consume_rate", evidence=("S03.cross-tenant-negatives",),
                metrics=({"name": "consume_to_pgbench_ratio_32w", "value": 0.054, "unit": "",
                          "threshold": 0.5, "comparison": ">="},))
    for name, value in (("p50_ms", 40.0), ("p95_ms", 230.0), ("p99_ms", 480.0),
                        ("p99.9_ms_for_the_slowest_endpoint_under_the_launch_profile", 950.0)):
        results.add(f"test_latency_{name}", evidence=("S03.query-latency",),
                    metrics=({"name": name, "value": value, "unit": "ms"},))
    return BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                        out_root=tmp_path / "packets", target=target, allure=False, now=NOW)


def go_packet(catalog, results, tmp_path, target):
    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",))
    results.add("test_audit_a", evidence=("S03.audit-trail",))
    results.add("test_audit_b", "failed", evidence=("S03.audit-trail",), message="no audit row", trace=TRACE)
    for name, value in (("p50_ms", 40.0), ("p95_ms", 130.0), ("p99_ms", 190.0)):
        results.add(f"test_{name}", evidence=("S03.query-latency",),
                    metrics=({"name": name, "value": value, "unit": "ms", "threshold": 200, "comparison": "<="},))
    waivers = (Waiver("S03.audit-trail", "audit table lands next sprint", "Release lead", TODAY, "REL-7"),)
    return BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                        out_root=tmp_path / "packets", target=target, waivers=waivers, allure=False, now=NOW)


@pytest.mark.slow
@pytest.mark.parametrize(("make", "decision"), [(nogo_packet, "NO-GO"), (go_packet, "GO")])
def test_index_html_first_screen_in_headless_chromium(make, decision, catalog, results, tmp_path, target):
    built = build_packet(make(catalog, results, tmp_path, target))
    assert built.decision == decision
    page = built.directory / "index.html"
    for width in WIDTHS:
        screenshot(page, tmp_path / f"packet-{decision}-{width}.png", width, tmp_path / "profile")
        dom, measured = layout(page, width, tmp_path / "profile")

        banner = dom.all("header", id="decision")
        assert len(banner) == 1 and banner[0]["data-decision"] == decision
        assert ("go" if decision == "GO" else "nogo") in banner[0]["class"].split()
        rows = dom.all("tr", "item-row")
        assert [r["data-item"] for r in rows] == [i["id"] for i in built.data["items"]]
        assert [r["data-status"] for r in rows] == [i["status"] for i in built.data["items"]]

        # banner, then why, then (waivers) the items table, in the order of render.SECTIONS
        order = [name for name, _top in measured["sections"]]
        assert order == [s for s in SECTIONS if s in order]
        tops = dict(measured["sections"])
        assert tops["decision"] < tops["why"] < tops["items"]
        assert tops["why"] < 400, "the reasons are on the first screen, right under the banner"
        # no sideways overflow, at either width
        assert measured["page"]["scroll"] <= measured["page"]["client"], measured["page"]
        assert measured["table"]["scroll"] <= measured["table"]["client"], measured["table"]
        assert measured["table"]["right"] <= measured["table"]["section_right"]
        assert measured["cells_overflowing"] == 0
        # measured values beside their items, labels clear of each other and of the bars
        assert measured["bars"] == sum(len(i["metrics"]) for i in built.data["items"]) > 0
        assert measured["collisions"] == []
        # every traceback folded away
        assert measured["traces"] > 0 and measured["traces_folded"] == measured["traces"]
        assert measured["open_details_with_trace"] == 0

    if decision == "NO-GO":
        lines = {li["data-item"]: li for li in dom.all("li", "why-line")}
        assert set(lines) == {i["id"] for i in built.data["items"] if i["status"] not in ("met", "waived")}
        assert measured["why_lines"] == len(lines)
        kinds = {a["data-kind"] for a in dom.all("span", "cause")}
        assert {"harness error", "adapter gap", "threshold missed", "target failure"} <= kinds
        # seven tests broken by one cause: one group, counted, not seven tracebacks
        groups = dom.all("div", "error-group")
        assert [(g["data-kind"], g["data-count"]) for g in groups] == [("harness error", "7")]
    else:
        assert not dom.all("li", "why-line")
        assert dom.all("tr", "waiver-row")
