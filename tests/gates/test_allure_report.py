"""The Allure 3 report inside a packet: rendered single-file with the pinned npm package where
Node is available, stripped of its analytics; without Node the packet is complete and says why."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from harness.gates.allure_report import outside_reference, strip_outside_requests
from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.manifest import verify
from tests.gates.conftest import NOW, REPO, SECRET
from tests.gates.test_assemble import fill

ALLURE_TAIL = """\
<script src="data:text/javascript;base64,AAAA"></script>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
    </script>
    <script async>
      window.allureReportDataReady = false;
    </script>
"""


def test_strip_removes_the_analytics_and_keeps_the_report_scripts():
    html = strip_outside_requests(ALLURE_TAIL)
    assert "googletagmanager" not in html and "gtag(" not in html
    assert "data:text/javascript;base64,AAAA" in html and "allureReportDataReady" in html


@pytest.mark.parametrize(("html", "stripped"), [
    ("<SCRIPT>gtag('js')</Script>  <p>", "<p>"),                       # any case, trailing space
    ("<script>dataLayer.push(1)</script><script>app()</script>", "<script>app()</script>"),
    ("<script>app()</script>\n<script async>gtag(1)</SCRIPT>", "<script>app()</script>\n"),
    ("<script>var s = '<script>gtag(';</script> tail", "tail"),       # ends at the first </script>
    ("<script>gtag( never closed", "<script>gtag( never closed"),   # not a whole tag: kept
    ("<script async src='HTTPS://tags.example/x.js'></script>\n<b>", "<b>"),
    ('<script src="data:text/javascript;base64,' + "QUJD/+" * 20_000 + '"></script>',
     '<script src="data:text/javascript;base64,' + "QUJD/+" * 20_000 + '"></script>'),
])
def test_strip_keeps_the_report_and_drops_what_calls_out(html, stripped):
    assert strip_outside_requests(html) == stripped


@pytest.mark.parametrize(("html", "found"), [
    ('<img alt="x" src="//cdn.example/a.png">', '<img alt="x" src="//'),
    ("<LINK rel=stylesheet href='http://x/y.css'>", "<LINK rel=stylesheet href='http://"),
    ('<iframe src="data:text/html,//not-a-link"></iframe><a href="https://x">', None),  # <a> loads nothing
    ('<script src="data:text/javascript;base64,' + "Ly8v" * 50_000 + '"></script>', None),
])
def test_an_outside_reference_is_found_wherever_it_is(html, found):
    assert outside_reference(html) == found


def test_package_json_pins_allure_3_with_a_lockfile():
    package = json.loads((REPO / "package.json").read_text())
    version = package["devDependencies"]["allure"]
    assert re.fullmatch(r"3\.\d+\.\d+", version), "pin an exact Allure 3 version"
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/allure"]["version"] == version


def test_without_node_the_packet_is_complete_and_says_why(catalog, results, tmp_path, target, monkeypatch):
    fill(results)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "packets", target=target, now=NOW))
    assert built.data["allure_report"] == {
        "rendered": False, "path": None,
        "detail": "the Allure CLI is absent: Node.js is not installed here (node not on PATH)"}
    assert not (built.directory / "allure-report").exists()
    assert "Not rendered: the Allure CLI is absent" in (built.directory / "index.html").read_text()
    assert "Allure report: not rendered (the Allure CLI is absent" in (built.directory / "packet.md").read_text()
    assert not verify(built.directory)


@pytest.mark.slow
def test_allure_report_is_rendered_single_file_without_outside_requests(catalog, results, tmp_path, target):
    assert shutil.which("node"), "Node.js is needed for this check: install nodejs and run npm ci"
    fill(results)
    results.add("test_leaky", evidence=("S03.cross-tenant-negatives",), message=f"pw {SECRET}",
                attachments=(("log", "text/plain", f"password={SECRET}".encode()),))
    built = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "packets", target=target, now=NOW))
    status = built.data["allure_report"]
    assert status["rendered"] is True, status["detail"]
    assert status["path"] == "allure-report/index.html"
    page = (built.directory / status["path"]).read_text()
    assert "googletagmanager" not in page and "gtag(" not in page
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=[\"'](https?:)?//", page)
    report_files = {p.name for p in (built.directory / "allure-report").iterdir()}
    assert report_files >= {"index.html"}  # single file: no app bundle beside it
    assert not any(name.endswith(".js") for name in report_files)
    for path in built.directory.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert not verify(built.directory)
    html = (built.directory / "index.html").read_text()
    assert 'href="allure-report/index.html"' in html


@pytest.mark.slow
def test_default_relative_out_gets_the_allure_report(catalog_file, results, tmp_path, monkeypatch):
    """Regression: with the default --out (reports/packets, relative) the report was written
    relative to the folder allure ran in, a temporary one, and lost."""
    from harness.cli import main

    assert (REPO / "node_modules" / "allure" / "cli.js").is_file(), "run npm ci (./dev setup does)"
    fill(results)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    code = main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "-q"])
    assert code == 1
    data = json.loads((tmp_path / "reports/packets/S03/packet.json").read_text())
    assert data["allure_report"]["rendered"] is True, data["allure_report"]["detail"]
    assert (tmp_path / "reports/packets/S03/allure-report/index.html").is_file()
    assert not verify(tmp_path / "reports/packets/S03")


def _tree(report_html: str) -> list[tuple[int, str, int]]:
    """The Allure 3 report's test tree as (depth, group title, tests directly under it)."""
    import base64

    encoded = re.search(r'd\("widgets/tree\.json","([^"]+)"\)', report_html)
    assert encoded, "the single-file report embeds widgets/tree.json"
    tree = json.loads(base64.b64decode(encoded.group(1)))
    groups, rows = tree["groupsById"], []

    def walk(ids, depth):
        for node_id in ids:
            node = groups[node_id]
            rows.append((depth, node["name"], len(node.get("leaves") or [])))
            walk(node.get("groups") or [], depth + 1)

    walk(tree["root"].get("groups") or [], 0)
    return rows


def test_results_are_staged_with_their_behaviours_titled_from_the_catalog(catalog, results, tmp_path):
    from harness.gates.allure_report import allure_config, stage_results
    from harness.gates.redaction import Redactor
    from harness.gates.results import read_results

    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",),
                extra={"labels": [{"name": "evidence", "value": "S03.cross-tenant-negatives"},
                                  {"name": "epic", "value": "F2"}, {"name": "feature", "value": "F2-E3"},
                                  {"name": "story", "value": "F2-E3-S1"}]})
    results.add("test_without_story", evidence=("S03.audit-trail",))
    cases = read_results(results.directory).cases
    gate = catalog.gate("S03")
    assert stage_results(cases, tmp_path / "stage", Redactor.for_target(None), gate, catalog) == 2
    staged = {json.loads(f.read_text())["name"]: json.loads(f.read_text())["labels"]
              for f in (tmp_path / "stage").glob("*-result.json")}
    behaviours = {name: [(label["name"], label["value"]) for label in labels
                         if label["name"] in ("epic", "feature", "story")]
                  for name, labels in staged.items()}
    assert behaviours["test_no_leak"] == [("epic", "F2 · Tenant isolation gate"),
                                          ("feature", "F2-E3 · Tenant isolation gate"),
                                          ("story", "F2-E3-S1 · No query crosses workspaces")]
    assert behaviours["test_without_story"] == [("epic", "S03 · Tenant isolation gate (no story)"),
                                                ("feature", "S03.audit-trail"),
                                                ("story", "Every change is audited")]
    config = allure_config("S03 Tenant isolation gate", tmp_path / "out")
    assert config["plugins"]["awesome"]["options"]["groupBy"] == ["epic", "feature", "story"]


@pytest.mark.slow
def test_the_allure_report_groups_tests_by_epic_feature_and_story(repo_catalog, results, tmp_path, target):
    assert shutil.which("node"), "Node.js is needed for this check: install nodejs and run npm ci"
    for name in ("test_select_across_workspaces", "test_update_across_workspaces"):
        results.add(name, evidence=("S03.cross-tenant-negatives",),
                    extra={"labels": [{"name": "evidence", "value": "S03.cross-tenant-negatives"},
                                      {"name": "gate", "value": "S03"}, {"name": "epic", "value": "F2"},
                                      {"name": "feature", "value": "F2-E3"},
                                      {"name": "story", "value": "F2-E3-S1"}]})
    built = build_packet(BuildRequest(catalog=repo_catalog, gate_id="S03", results_dir=results.directory,
                                      out_root=tmp_path / "packets", target=target, now=NOW))
    assert built.data["allure_report"]["rendered"] is True, built.data["allure_report"]["detail"]
    tree = _tree((built.directory / "allure-report" / "index.html").read_text())
    depths = [(depth, title.split(" · ")[0]) for depth, title, _ in tree]
    assert depths == [(0, "F2"), (1, "F2-E3"), (2, "F2-E3-S1")]
    story = tree[2]
    assert story[2] == 2 and story[1].startswith("F2-E3-S1 · ") and len(story[1]) > len("F2-E3-S1 · ")
    assert "Tenant isolation gate" in tree[0][1]
