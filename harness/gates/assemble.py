"""Assembling a gate packet: results, documents and waivers in; a sealed directory out.

:func:`build_packet` reads the Allure results, checks the gate's documents, decides, gathers
provenance, copies the evidence (redacted), renders ``packet.json``, ``packet.md`` and
``index.html`` (and the Allure report where Node is available), and seals everything with
``MANIFEST.sha256``, including ``results.sha256``, the digest of the results it was built from.
Several results directories (shards of a CI matrix) make one packet when they come from one
target and commit (:mod:`~harness.gates.shards`). The packet is built in a staging folder beside
the destination and swapped into place only when complete
(:mod:`~harness.gates.packets_folder`), so a failure, an interrupt or a kill never leaves a
half-written packet where a reader would find it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.gates.allure_renderer import AllureRenderer
from harness.gates.allure_report import render_allure
from harness.gates.baseline import compare, load_baseline
from harness.gates.catalog import Catalog, Gate
from harness.gates.decision import GateVerdict, decide
from harness.gates.documents import DocumentContext, DocumentResult, run_check
from harness.gates.manifest import gate_rules_sha256, write_manifest
from harness.gates.model import AllureStatus, EvidenceFile, Packet, packet_json
from harness.gates.packets_folder import remove_stale_staging, staging_dir, swap_into_place
from harness.gates.redaction import Redactor
from harness.gates.render import RENDERERS
from harness.gates.results import ResultSet, read_results
from harness.gates.shards import RESULTS_SEAL, describe_shards, results_seal
from harness.gates.waivers import Waiver

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["BuildRequest", "BuiltPacket", "build_packet", "check_documents", "write_documents"]

EVIDENCE_DIR = "evidence"


@dataclass(frozen=True)
class BuildRequest:
    catalog: Catalog
    gate_id: str
    results_dir: Path
    out_root: Path = Path("reports/packets")
    waivers: tuple[Waiver, ...] = ()
    target: TargetSpec | None = None
    baseline: Path | None = None
    allure: bool = True
    now: dt.datetime | None = None
    more_results: tuple[Path, ...] = ()    # further shards, after results_dir

    @property
    def results_dirs(self) -> tuple[Path, ...]:
        return (self.results_dir, *self.more_results)


@dataclass(frozen=True)
class BuiltPacket:
    directory: Path
    verdict: GateVerdict
    data: dict[str, Any]

    @property
    def decision(self) -> str:
        return self.verdict.decision


def check_documents(gate: Gate, target: TargetSpec | None, today: dt.date) -> dict[str, DocumentResult]:
    if target is None:
        return {}
    context = DocumentContext(root=target.root, script_location=target.migrations.script_location,
                              today=today, target=target)
    return {item.id: run_check(item.check or "", context, item.path)
            for item in gate.items if item.kind == "document"}


def build_packet(request: BuildRequest, results: ResultSet | None = None,
                 renderer: AllureRenderer | None = None) -> BuiltPacket:
    """The gate's packet, built in a staging folder and swapped in whole; ``renderer`` renders
    its Allure report (several packets share one; else the report gets its own)."""
    gate = request.catalog.gate(request.gate_id)
    results = results if results is not None else read_results(request.results_dirs)
    now = request.now or dt.datetime.now(dt.UTC)
    today = now.date()
    baseline = load_baseline(request.baseline, gate.id) if request.baseline is not None else None
    redactor = Redactor.for_target(request.target)
    directories = results.directories or (results.directory,)
    shards = describe_shards(directories, results.provenances or (results.provenance,),
                             request.target, redactor)
    provenance = shards[0].provenance
    verdict = decide(gate, results.cases, request.waivers, today,
                     check_documents(gate, request.target, today), provenance.unsupported)

    # absolute: the Allure CLI runs in a folder of its own and resolves relative paths there
    out_root = request.out_root.resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_root, gate.id)
    staging = staging_dir(out_root, gate.id)
    try:
        staging.mkdir(mode=0o755)
        cases = tuple({v.case.key: v.case for item in verdict.items for v in item.cases}.values())
        evidence = _copy_evidence(cases, staging, redactor)
        if request.allure:
            allure = render_allure(results, cases, staging, f"{gate.id} {gate.name}", redactor,
                                   gate=gate, catalog=request.catalog, renderer=renderer)
        else:
            allure = AllureStatus(False, "not requested (--no-allure)")
        packet = Packet(verdict=verdict, generated_at=now.isoformat(timespec="seconds"),
                        provenance=provenance, evidence=evidence, allure=allure, shards=shards)
        data = packet_json(packet, redactor)
        if baseline is not None:
            packet = replace(packet, baseline=compare(baseline, data))
            data = packet_json(packet, redactor)
        # the rules the gate was judged by, so a packet judged by another catalog is told apart
        data["catalog_sha256"] = gate_rules_sha256(gate)
        (staging / RESULTS_SEAL).write_text(results_seal(directories, shards), encoding="utf-8")
        write_documents(staging, data, redactor)
        destination = request.out_root / gate.id
        swap_into_place(staging, out_root / gate.id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuiltPacket(directory=destination, verdict=verdict, data=data)


def write_documents(directory: Path, data: dict[str, Any], redactor: Redactor | None = None) -> None:
    """``packet.json``, the rendered documents and the manifest, from the packet's data."""
    (directory / "packet.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    for renderer in RENDERERS.values():
        text = renderer.render(data, directory)
        if redactor is not None:
            text = redactor.known(text)
        (directory / renderer.filename).write_text(text, encoding="utf-8")
    write_manifest(directory)


def _copy_evidence(cases: tuple, staging: Path, redactor: Redactor) -> dict[str, EvidenceFile]:
    published: dict[str, EvidenceFile] = {}
    folder = staging / EVIDENCE_DIR
    for case in cases:
        for attempt in case.attempts:
            for attachment in attempt.attachments:
                if attachment.source in published:
                    continue
                if not attachment.present:
                    published[attachment.source] = EvidenceFile(None, "missing from the results directory")
                    continue
                data = redactor.file_bytes(attachment.path.read_bytes(),
                                           attachment.type)
                if data is None:
                    published[attachment.source] = EvidenceFile(None, "withheld: it contained a secret")
                    continue
                folder.mkdir(exist_ok=True)
                (folder / attachment.source).write_bytes(data)
                published[attachment.source] = EvidenceFile(f"{EVIDENCE_DIR}/{attachment.source}",
                                                            sha256=hashlib.sha256(data).hexdigest())
    return published
