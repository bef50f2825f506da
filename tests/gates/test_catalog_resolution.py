"""Catalog, waivers and risk register resolve next to the target spec; the harness's own catalog
is the default; --catalog and --risks name them."""

from __future__ import annotations

import json

from harness.cli import main
from tests.gates.conftest import RISKS, SMALL_CATALOG, write


def _items(workdir) -> dict[str, str]:
    data = json.loads((workdir / "reports/packets/S03/packet.json").read_text())
    return {i["id"]: i["status"] for i in data["items"]}


def _build(results, target, *extra) -> int:
    return main(["packet", "build", "--results", str(results.directory), "--gate", "S03",
                 "--target", str(target), "--no-allure", "-q", *extra])


def test_without_a_catalog_anywhere_the_harness_catalog_is_used(tmp_path, monkeypatch, results):
    monkeypatch.chdir(write(tmp_path / "elsewhere" / "keep", "").parent)
    spec = write(tmp_path / "spec" / "target.yaml", "name: t\nmigrations: {tool: sql, location: m}\n")
    write(spec.parent / "m" / "0001_init.sql", "select 1;\n")
    results.directory.mkdir(parents=True, exist_ok=True)
    _build(results, spec)
    assert "S03.role-matrix" in _items(tmp_path / "elsewhere")  # the shipped catalog's item


def test_the_catalog_and_risks_next_to_the_spec_win_over_the_current_directory(tmp_path, monkeypatch,
                                                                               results):
    here = write(tmp_path / "here" / "gates.yaml", "version: 1\ngates: []\n").parent
    monkeypatch.chdir(here)
    spec = write(tmp_path / "spec" / "target.yaml", "name: t\nmigrations: {tool: sql, location: m}\n")
    write(spec.parent / "m" / "0001_init.sql", "select 1;\n")
    write(spec.parent / "gates.yaml", SMALL_CATALOG)
    write(spec.parent / "risks.yaml", RISKS)
    results.directory.mkdir(parents=True, exist_ok=True)
    _build(results, spec)
    assert _items(here)["S03.risk-register"] == "met"
    assert set(_items(here)) == {"S03.cross-tenant-negatives", "S03.audit-trail", "S03.query-latency",
                                 "S03.risk-register"}
    other = write(tmp_path / "other" / "register.yaml", "risks: []\n")
    _build(results, spec, "--risks", str(other))
    assert _items(here)["S03.risk-register"] == "failed"   # lists no risks
