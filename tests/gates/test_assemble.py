"""Building a packet: packet.json's shape, evidence copied, provenance, the baseline diff,
atomic writes, and no secret of the target spec anywhere in the packet."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.gates import render
from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.manifest import verify
from harness.gates.waivers import Waiver
from tests.gates.conftest import NOW, SECRET, TODAY

LATENCY = {"name": "p95_ms", "value": 120.0, "unit": "ms", "threshold": 150, "comparison": "<="}


def fill(results) -> None:
    """A result set for S03 with one of everything."""
    results.add("test_no_leak", evidence=("S03.cross-tenant-negatives",),
                attachments=(("sql", "text/plain", b"SELECT * FROM notes -- 0 rows"),))
    results.add("test_audit_one", evidence=("S03.audit-trail",))
    results.add("test_audit_two", "failed", evidence=("S03.audit-trail",), message="no audit row",
                trace="assert rows == 1", attachments=(("rows seen", "application/json", b"[]"),))
    results.add("test_audit_skip", "skipped", evidence=("S03.audit-trail",))
    results.add("test_latency", evidence=("S03.query-latency",), metrics=(LATENCY,))
    results.add("test_typo", evidence=("S03.cross-tenant-negative",))
    results.add("test_other_gate", evidence=("S04.domain-invariants",))


@pytest.fixture
def request_for(catalog, results, tmp_path, target):
    fill(results)
    return BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                        out_root=tmp_path / "packets", target=target, allure=False, now=NOW)


def test_packet_json_has_the_promised_shape(request_for):
    built = build_packet(request_for)
    data = json.loads((built.directory / "packet.json").read_text())
    assert built.directory == request_for.out_root / "S03"
    assert {"gate", "name", "decision", "generated_at", "items", "provenance", "waivers"} <= set(data)
    assert (data["gate"], data["name"], data["decision"]) == ("S03", "Tenant isolation gate", "NO-GO")
    assert data["generated_at"] == "2026-11-22T12:00:00+00:00"
    statuses = {i["id"]: i["status"] for i in data["items"]}
    assert statuses == {"S03.cross-tenant-negatives": "met", "S03.audit-trail": "failed",
                        "S03.query-latency": "met", "S03.risk-register": "met"}
    audit = next(i for i in data["items"] if i["id"] == "S03.audit-trail")
    tests = {t["name"]: t for t in audit["tests"]}
    assert tests["test_audit_two"]["status"] == "failed" and tests["test_audit_two"]["duration_ms"] == 5
    assert tests["test_audit_skip"]["counted"] is False
    assert tests["test_audit_two"]["attachments"][0]["path"].startswith("evidence/")
    latency = next(i for i in data["items"] if i["id"] == "S03.query-latency")
    assert latency["metrics"][0] | {} == {"test": "test_latency", "name": "p95_ms", "value": 120.0,
                                          "unit": "ms", "comparison": "<=", "threshold": 200.0,
                                          "threshold_from": "catalog", "ok": True}
    assert data["unmatched"] == [{"evidence": "S03.cross-tenant-negative", "test": "test_typo",
                                  "full_name": "scenarios.test_gate#test_typo"}]
    assert data["allure_report"] == {"rendered": False, "detail": "not requested (--no-allure)", "path": None}
    assert not verify(built.directory)


def test_every_file_is_in_the_manifest_and_evidence_is_copied(request_for):
    built = build_packet(request_for)
    files = sorted(p.relative_to(built.directory).as_posix() for p in built.directory.rglob("*") if p.is_file())
    listed = sorted(line.split("  ", 1)[1] for line in (built.directory / "MANIFEST.sha256").read_text().splitlines()
                    if not line.startswith("#"))   # the "#" lines bind gate, target, catalog, results
    assert listed == [f for f in files if f != "MANIFEST.sha256"]
    assert {"packet.json", "packet.md", "index.html"} <= set(files)
    assert sum(f.startswith("evidence/") for f in files) == 3  # sql, rows seen, the metric
    sql = next(built.directory.glob("evidence/*.txt"))
    assert sql.read_text() == "SELECT * FROM notes -- 0 rows"
    listed_hashes = {line.split("  ", 1)[1]: line.split("  ", 1)[0]
                     for line in (built.directory / "MANIFEST.sha256").read_text().splitlines()
                     if not line.startswith("#")}
    for item in built.data["items"]:
        for test in item["tests"]:
            for attachment in test["attachments"]:
                assert attachment["sha256"] == listed_hashes[attachment["path"]]


def test_provenance_comes_from_the_plugin_file(request_for, results):
    results.provenance({"target": "reference", "backend": "embedded", "postgres_version": "18.6",
                        "pgvector_version": "0.8.6", "alembic_heads": ["0003"], "target_commit": "abc1234",
                        "harness_commit": "def5678", "packages": {"pytest": "9.9"},
                        "hypothesis_seed": "42", "dsn": f"postgresql://u:{SECRET}@h/db"})
    provenance = build_packet(request_for).data["provenance"]
    assert provenance["postgres_version"] == "18.6" and provenance["pgvector_version"] == "0.8.6"
    assert provenance["alembic_heads"] == ["0003"] and provenance["hypothesis_seed"] == "42"
    assert provenance["packages"]["pytest"] == "9.9" and provenance["recorded_by_plugin"] is True
    assert "dsn" not in provenance


def test_provenance_is_filled_when_the_plugin_wrote_none(request_for):
    provenance = build_packet(request_for).data["provenance"]
    assert provenance["target"] == "secretive" and provenance["backend"] == "dsn"
    assert provenance["recorded_by_plugin"] is False
    assert "hypothesis" in provenance["packages"]
    assert "postgres_version" in provenance["gaps"]


def test_no_secret_of_the_target_spec_appears_anywhere(request_for, results, monkeypatch):
    """The DSN password leaks into results every way it could; the packet carries none of it."""
    monkeypatch.setenv("HARNESS_DSN", f"postgresql://owner:{SECRET}@db.example.internal:5432/app")
    dsn = f"postgresql://owner:{SECRET}@db.example.internal:5432/app"
    results.add("test_leaky", "failed", evidence=("S03.cross-tenant-negatives",),
                message=f"could not connect to {dsn}", trace=f"{SECRET}\npassword={SECRET}",
                attachments=(("log", "text/plain", f"connecting with {dsn}".encode()),
                             ("dump", "application/octet-stream", b"\x00\x01" + SECRET.encode()),
                             ("config", "application/json", json.dumps({"password": SECRET}).encode())),
                parameters=(("dsn", dsn),))
    results.provenance({"target": f"ref {SECRET}", "hypothesis_seed": SECRET, "packages": {"x": SECRET}})
    built = build_packet(request_for)
    for path in built.directory.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    html = (built.directory / "index.html").read_text()
    assert html.count("<pre>") == html.count("</pre>")  # redaction never cuts the markup
    leaky = next(t for i in built.data["items"] for t in i["tests"] if t["name"] == "test_leaky")
    notes = {a["name"]: a["note"] for a in leaky["attachments"]}
    assert notes["dump"] == "withheld: it contained a secret"
    assert "owner:***@db.example.internal" in leaky["message"]


def test_waivers_are_listed_with_their_state(request_for):
    waivers = (Waiver("S03.audit-trail", "audit table next sprint", "Lead", TODAY),
               Waiver("S03.cross-tenant-negatives", "please", "Someone", TODAY))
    data = build_packet(replace(request_for, waivers=waivers)).data
    assert [(w["item"], w["state"]) for w in data["waivers"]] == [
        ("S03.cross-tenant-negatives", "rejected"), ("S03.audit-trail", "applied")]
    audit = next(i for i in data["items"] if i["id"] == "S03.audit-trail")
    assert audit["status"] == "waived" and audit["waiver"]["approver"] == "Lead"
    assert data["decision"] == "GO"


def test_a_gate_without_suites_is_no_go_with_every_item_missing(catalog, tmp_path):
    (tmp_path / "empty").mkdir()
    data = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=tmp_path / "empty",
                                     out_root=tmp_path / "out", allure=False, now=NOW)).data
    assert data["decision"] == "NO-GO"
    assert {i["status"] for i in data["items"]} == {"missing"}


def test_baseline_shows_flips_and_metric_moves(request_for, results, tmp_path):
    first = build_packet(request_for)
    baseline = tmp_path / "baseline-S03"
    first.directory.rename(baseline)
    for path in results.directory.glob("*-result.json"):
        if "test_audit_two" in path.read_text() or "test_latency" in path.read_text():
            path.unlink()
    results.add("test_audit_two", evidence=("S03.audit-trail",))
    results.add("test_latency", evidence=("S03.query-latency",), metrics=({**LATENCY, "value": 150.0},))
    data = build_packet(replace(request_for, baseline=baseline)).data
    diff = data["baseline"]
    assert diff["decision_before"] == "NO-GO" and diff["decision_after"] == "GO"
    assert diff["flipped"] == [{"item": "S03.audit-trail", "before": "failed", "after": "met"}]
    assert diff["moved"] == [{"item": "S03.query-latency", "test": "test_latency", "metric": "p95_ms",
                              "before": 120.0, "after": 150.0, "change": 0.25, "unit": "ms"}]


def test_small_metric_moves_are_not_reported(request_for, results, tmp_path):
    first = build_packet(request_for)
    data = build_packet(replace(request_for, baseline=first.directory / "packet.json")).data
    assert data["baseline"]["moved"] == [] and data["baseline"]["flipped"] == []


def test_tampered_or_foreign_baseline_is_refused(request_for, tmp_path, catalog):
    first = build_packet(request_for)
    baseline = tmp_path / "old"
    first.directory.rename(baseline)
    with (baseline / "index.html").open("a") as handle:
        handle.write("<!-- edited -->")
    with pytest.raises(ConfigError, match=r"baseline packet was changed after it was written \(index.html"):
        build_packet(replace(request_for, baseline=baseline))
    intact = build_packet(request_for).directory
    with pytest.raises(ConfigError, match=r"is a packet for gate 'S03', not S04"):
        build_packet(replace(request_for, gate_id="S04", baseline=intact / "packet.json"))


def test_a_failure_leaves_the_previous_packet_untouched(request_for, monkeypatch):
    first = build_packet(request_for)
    before = {p: p.read_bytes() for p in first.directory.rglob("*") if p.is_file()}

    class Exploding:
        filename = "index.html"

        def render(self, packet, directory):
            raise RuntimeError("renderer crashed half way")

    monkeypatch.setitem(render.RENDERERS, "html", Exploding())
    with pytest.raises(RuntimeError):
        build_packet(request_for)
    after = {p: p.read_bytes() for p in first.directory.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in request_for.out_root.iterdir()] == ["S03"]  # no staging left behind


def test_rebuilding_replaces_the_packet_whole(request_for, results):
    build_packet(request_for)
    (request_for.out_root / "S03" / "stray.txt").write_text("left over")
    built = build_packet(request_for)
    assert not (built.directory / "stray.txt").exists()
    assert not verify(built.directory)
    assert [p.name for p in request_for.out_root.iterdir()] == ["S03"]


def test_packet_from_real_allure_pytest_output(real_results, catalog, tmp_path, target):
    data = build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=real_results,
                                     out_root=tmp_path / "out", target=target, allure=False, now=NOW)).data
    statuses = {i["id"]: i["status"] for i in data["items"]}
    assert statuses == {"S03.cross-tenant-negatives": "met", "S03.audit-trail": "failed",
                        "S03.query-latency": "met", "S03.risk-register": "met"}
    s04 = build_packet(BuildRequest(catalog=catalog, gate_id="S04", results_dir=real_results,
                                    out_root=tmp_path / "out", allure=False, now=NOW)).data
    assert s04["items"][0]["status"] == "flaky" and s04["decision"] == "NO-GO"


def test_unknown_gate_is_a_config_error(request_for):
    with pytest.raises(ConfigError, match=r"no gate 'S42'"):
        build_packet(replace(request_for, gate_id="S42"))
    assert not Path(request_for.out_root).exists() or not any(Path(request_for.out_root).iterdir())
