"""Rendering: packet.md for a pull request, index.html for the release lead — both from the
packet.json data only; the page is self-contained and shows what a reviewer must see first."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from harness.gates import render
from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.waivers import Waiver
from tests.gates.conftest import NOW, TODAY
from tests.gates.test_assemble import LATENCY, fill


class Page(HTMLParser):
    """Collects what the tests look at: tags with attributes, and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


@pytest.fixture
def built(catalog, results, tmp_path, target):
    fill(results)
    results.add("test_p99 <script>alert(1)</script>", evidence=("S03.query-latency",),
                metrics=({"name": "p99_ms", "value": 180.0, "unit": "ms"},),
                attachments=(("histogram", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),))
    waivers = (Waiver("S03.audit-trail", "audit | table next sprint", "Lead", TODAY, "REL-9"),)
    return build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                     out_root=tmp_path / "packets", target=target, waivers=waivers,
                                     allure=False, now=NOW))


def test_index_html_shows_banner_waivers_and_one_row_per_item(built):
    html = (built.directory / "index.html").read_text()
    page = Page(html)
    banner = page.find("header", id="decision")
    assert banner and banner[0]["data-decision"] == built.data["decision"] == "GO"
    rows = page.find("tr", **{"class": "item-row"})
    assert [r["data-item"] for r in rows] == [i["id"] for i in built.data["items"]]
    assert [r["data-status"] for r in rows] == ["met", "waived", "met", "met"]
    assert page.find("tr", **{"class": "waiver-row", "data-state": "applied"})
    # the waivers come before the items: on the first screen
    assert html.index('id="waivers"') < html.index('id="items"')


def test_index_html_is_self_contained(built):
    html = (built.directory / "index.html").read_text()
    page = Page(html)
    for _tag, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"^(https?:)?//", value), (key, value)
    assert page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "<script" not in html.replace("&lt;script&gt;", "")


def test_test_names_are_escaped(built):
    html = (built.directory / "index.html").read_text()
    assert "test_p99 &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_measured_values_are_plotted_beside_their_item_and_images_inlined(built):
    html = (built.directory / "index.html").read_text()
    page = Page(html)
    row = html.split('id="item-S03.query-latency"')[1].split("</tr>")[0]
    assert 'class="plot" data-item="S03.query-latency"' in row
    bars = [a for a in page.find("div", **{"class": "bar-row"})]
    assert {b["data-metric"]: b["data-ok"] for b in bars} == {"p95_ms": "true", "p99_ms": "none"}
    assert "keeps &lt;= 200 ms (catalog)" in row and "information only" in row
    pictures = [a for a in page.find("img") if (a.get("src") or "").startswith("data:image/svg+xml;base64,")]
    assert [p["alt"] for p in pictures] == ["histogram"]
    assert "histogram" in row  # the picture sits in its item's row, beside the figures


def test_failures_show_their_evidence_inline(catalog, results, tmp_path, target):
    fill(results)
    data = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                     out_root=tmp_path / "p", target=target, allure=False, now=NOW))
    html = (data.directory / "index.html").read_text()
    failures = html[html.index('id="failures"'):]
    assert "no audit row" in failures and "assert rows == 1" in failures
    assert "rows seen" in failures and "<pre>[]</pre>" in failures


def test_packet_md_is_a_pull_request_comment(built):
    md = (built.directory / "packet.md").read_text()
    assert md.startswith("## ✅ Gate S03 · Tenant isolation gate: **GO**")
    assert "| `S03.audit-trail` | **applied** | 2026-11-22 | Lead | audit \\| table next sprint |" in md
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(built.data["items"])
    assert all(line.count(" | ") >= 4 for line in rows)
    assert len(md) < 65_000


def test_packet_md_lists_failures_with_details(catalog, results, tmp_path, target):
    fill(results)
    results.add("test_slow", evidence=("S03.query-latency",), metrics=({**LATENCY, "value": 900.0},))
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "p", target=target, allure=False, now=NOW))
    md = (built.directory / "packet.md").read_text()
    assert "## ⛔ Gate S03" in md and "### Not met or waived, with the evidence" in md
    assert ("<details><summary><code>S03.audit-trail</code>: test_audit_two (failed, 5 ms): "
            "no audit row</summary>") in md
    assert "test_slow: p95_ms = 900 ms breaks <= 200 ms (catalog)" in md
    assert "S03.cross-tenant-negative` is not in the catalog" in md


def _html_sections(html: str) -> list[str]:
    return re.findall(r'<(?:header|section) id="([a-z-]+)"', html)


def _md_sections(md: str, packet: dict) -> list[str]:
    titles = {render.section_title(s, packet): s for s in render.SECTIONS if s != "decision"}
    found = ["decision"] if md.startswith("## ") else []
    for heading in re.findall(r"^### (.+)$", md, re.M):
        found.append(next(s for title, s in titles.items() if heading.startswith(title)))
    return found


@pytest.mark.parametrize("decision", ["GO", "NO-GO"])
def test_html_and_markdown_have_the_same_sections_in_the_same_order(decision, catalog, results, tmp_path, target):
    if decision == "GO":
        for name, item in (("test_no_leak", "S03.cross-tenant-negatives"), ("test_audit_one", "S03.audit-trail"),
                           ("test_audit_two", "S03.audit-trail"), ("test_typo", "S03.cross-tenant-negative")):
            results.add(name, evidence=(item,))
        results.add("test_latency", evidence=("S03.query-latency",), metrics=(LATENCY,))
    else:
        fill(results)
        results.add("test_broken", "broken", evidence=("S03.cross-tenant-negatives",), message="KeyError: x")
    previous = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                         out_root=tmp_path / "before", target=target, allure=False, now=NOW))
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "p", target=target, allure=False, now=NOW,
                                      baseline=previous.directory / "packet.json"))
    html = (built.directory / "index.html").read_text()
    md = (built.directory / "packet.md").read_text()
    html_order = _html_sections(html)
    assert html_order == [s for s in render.SECTIONS if s in html_order]
    assert {"decision", "why", "waivers", "items", "failures", "changes", "unmatched", "provenance",
            "allure"} <= set(html_order)
    assert _md_sections(md, built.data) == html_order
    assert f"### Why {decision}" in md


def test_why_no_go_groups_one_cause_with_a_count_and_names_an_adapter_gap(catalog, results, tmp_path, target):
    for n in range(7):
        results.add(f"test_seed_{n}", "broken", evidence=("S03.audit-trail",),
                    message="RuntimeError: could not seed the workspace\nmore detail", trace="Traceback ...")
    results.add("test_gap", "failed", evidence=("S03.cross-tenant-negatives",),
                message="harness.capabilities.CapabilityMissing: adapter A lacks the 'webhooks' capability")
    results.add("test_bad_spec", "broken", evidence=("S03.query-latency",),
                message="harness.errors.ConfigError: target.yaml: database.dsn: is empty")
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "p", target=target, allure=False, now=NOW))
    html = (built.directory / "index.html").read_text()
    why = html.split('<section id="why">')[1].split("</section>")[0]
    assert why.count('class="why-line"') == 3  # one line per item not met; risk register is met
    assert why.count("could not seed the workspace") == 1 and "× 7" in why
    assert '<span class="kind">adapter gap</span>' in why
    assert '<span class="kind">configuration gap</span>' in why
    errors = html.split('<section id="errors">')[1].split("</section>")[0]
    assert errors.count('class="failure error-group"') == 2
    assert errors.count("Traceback ...") == 1  # the trace of seven shown once, folded
    assert "<details class=\"trace\"><summary>" in errors and "<details class=\"trace\" open" not in errors
    audit = next(i for i in built.data["items"] if i["id"] == "S03.audit-trail")
    assert audit["reason"] == ("7 of 7 tests errored in setup or harness code, not on the target: "
                               "RuntimeError: could not seed the workspace (× 7: test_seed_0, "
                               "test_seed_1, test_seed_2 and 4 more)")
    md = (built.directory / "packet.md").read_text()
    md_why = md.split("### Why NO-GO")[1].split("### Waivers")[0]
    assert md_why.count("\n- **") == 3 and "(× 7)" in md_why and "**adapter gap**" in md_why


def test_a_missed_threshold_on_a_test_item_makes_the_packet_no_go(catalog, results, tmp_path, target):
    """Issue 26: a figure recorded with a threshold decides its item, and the page and the
    Markdown show the value beside the threshold; without a threshold it is information only."""
    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",),
                metrics=({"name": "consume_ratio", "value": 0.054, "unit": "", "threshold": 0.5,
                          "comparison": ">="},))
    results.add("test_audit_a", evidence=("S03.audit-trail",))
    results.add("test_audit_b", evidence=("S03.audit-trail",),
                metrics=({"name": "audit_rows_per_s", "value": 12.0, "unit": "1/s"},))
    results.add("test_latency", evidence=("S03.query-latency",), metrics=(LATENCY,))
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "p", target=target, allure=False, now=NOW))
    items = {i["id"]: i for i in built.data["items"]}
    assert built.decision == "NO-GO"
    assert items["S03.cross-tenant-negatives"]["status"] == "failed"
    assert items["S03.cross-tenant-negatives"]["reason"] == \
        "test_no_leak: consume_ratio = 0.054 breaks >= 0.5 (test)"
    assert items["S03.audit-trail"]["status"] == "met"  # information only decides nothing
    html = (built.directory / "index.html").read_text()
    row = html.split('id="item-S03.cross-tenant-negatives"')[1].split("</tr>")[0]
    assert 'data-ok="false"' in row and "0.054" in row and "breaks &gt;= 0.5 (test)" in row
    why = html.split('<section id="why">')[1].split("</section>")[0]
    assert "threshold missed" in why and "consume_ratio = 0.054, needs &gt;= 0.5 (test)" in why
    md = (built.directory / "packet.md").read_text()
    assert "| consume_ratio = 0.054 (✗ >= 0.5) |" in md
    assert "audit_rows_per_s = 12 1/s |" in md
