"""index.html opened in headless Chromium, as a release lead would: the decision banner and one
row per evidence item are in the DOM, and a screenshot is kept as a CI artifact under
reports/artifacts/. Chromium is a CI requirement (.ci/run installs Debian's package): when it
is missing this test fails, it does not skip."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.waivers import Waiver
from tests.gates.conftest import NOW, REPO, TODAY

ARTIFACTS = REPO / "reports" / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def all(self, tag: str, css_class: str | None = None, **attrs: str):
        return [a for t, a in self.elements
                if t == tag and (css_class is None or css_class in (a.get("class") or "").split())
                and all(a.get(k) == v for k, v in attrs.items())]


def open_in_chromium(page: Path, screenshot: Path, profile: Path) -> str:
    binary = chromium()
    common = [binary, *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run([*common, f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    return dom.stdout


def repo_s03(repo_catalog, results, tmp_path, target):
    results.add("test_select_across_workspaces", evidence=("S03.cross-tenant-negatives",),
                attachments=(("sql", "text/plain", b"SET app.workspace_id = 'B'; SELECT * FROM notes; -- 0 rows"),))
    results.add("test_every_tenant_table_forces_rls", "failed", evidence=("S03.policy-coverage",),
                message="AssertionError: notes has RLS enabled but not FORCED",
                trace="assert table.force_rls, table.name",
                attachments=(("tables without FORCE", "text/plain", b"notes\nnote_tags\n"),))
    results.add("test_viewer_cannot_invite", "failed", evidence=("S03.role-matrix",), history_id="rm1")
    results.add("test_viewer_cannot_invite", "passed", evidence=("S03.role-matrix",), history_id="rm1")
    results.add("test_role_change_is_audited", evidence=("S03.membership-audit",))
    waivers = (Waiver("S03.role-matrix", "retry storm in CI runner", "Release lead", TODAY),)
    return BuildRequest(catalog=repo_catalog, gate_id="S03", results_dir=results.directory,
                        out_root=tmp_path / "packets", target=target, waivers=waivers, allure=False, now=NOW)


def small_go(catalog, results, tmp_path, target):
    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",))
    results.add("test_audit_a", evidence=("S03.audit-trail",))
    results.add("test_audit_b", "failed", evidence=("S03.audit-trail",), message="no audit row")
    for name, value in (("p50_ms", 40.0), ("p95_ms", 130.0), ("p99_ms", 190.0)):
        results.add(f"test_{name}", evidence=("S03.query-latency",),
                    metrics=({"name": name, "value": value, "unit": "ms", "threshold": 200, "comparison": "<="},))
    waivers = (Waiver("S03.audit-trail", "audit table lands next sprint", "Release lead", TODAY, "REL-7"),)
    return BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                        out_root=tmp_path / "packets", target=target, waivers=waivers, allure=False, now=NOW)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make", "decision"), [
    ("packet-S03-reference", repo_s03, "NO-GO"),
    ("packet-S03-waived-go", small_go, "GO"),
])
def test_index_html_in_headless_chromium(request, name, make, decision, results, tmp_path, target):
    catalog_fixture = "repo_catalog" if make is repo_s03 else "catalog"
    built = build_packet(make(request.getfixturevalue(catalog_fixture), results, tmp_path, target))
    assert built.decision == decision
    dom = Dom(open_in_chromium(built.directory / "index.html", ARTIFACTS / f"{name}.png", tmp_path / "profile"))
    banner = dom.all("header", id="decision")
    assert len(banner) == 1 and banner[0]["data-decision"] == decision
    assert ("go" if decision == "GO" else "nogo") in banner[0]["class"].split()
    rows = dom.all("tr", "item-row")
    assert [r["data-item"] for r in rows] == [i["id"] for i in built.data["items"]]
    assert [r["data-status"] for r in rows] == [i["status"] for i in built.data["items"]]
    assert dom.all("tr", "waiver-row")
    if make is small_go:
        assert len(dom.all("div", "plot")) == 1
