"""Rendering: packet.md for a pull request, index.html for the release lead — both from the
packet.json data only; the page is self-contained and shows what a reviewer must see first."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

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


def test_measured_values_are_plotted_and_images_inlined(built):
    html = (built.directory / "index.html").read_text()
    page = Page(html)
    plots = page.find("div", **{"class": "plot", "data-item": "S03.query-latency"})
    assert plots and "<svg viewBox" in html and "p95_ms" in html
    pictures = [a for a in page.find("img") if (a.get("src") or "").startswith("data:image/svg+xml;base64,")]
    assert [p["alt"] for p in pictures] == ["histogram"]


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
    assert "## ⛔ Gate S03" in md and "### Failures" in md
    assert "<details><summary><code>S03.audit-trail</code>: test_audit_two (failed, 5 ms)</summary>" in md
    assert "test_slow: p95_ms = 900 ms breaks <= 200 ms (catalog)" in md
    assert "S03.cross-tenant-negative` is not in the catalog" in md
