"""The packet as data: frozen dataclasses, and the one function that shapes ``packet.json``.

A packet is data first: :class:`Packet` holds the gate's verdict, provenance, the Allure report's
status and the change since a baseline; :func:`packet_json` turns it into the plain dict that
is written as ``packet.json`` and that every renderer (Markdown, HTML) receives. Nothing here
knows about HTML. The dict passes through the redactor as a whole, so no text field can carry a
secret out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from harness.gates.baseline import BaselineDiff
from harness.gates.decision import ITEM_STATUSES, GateVerdict, ItemVerdict
from harness.gates.redaction import Redactor
from harness.gates.results import Attachment, TestCase
from harness.gates.shards import Shard
from harness.gates.waivers import WaiverState
from harness.provenance import Provenance

__all__ = ["SCHEMA_VERSION", "AllureStatus", "EvidenceFile", "Packet", "packet_json"]

SCHEMA_VERSION = 2   # 2: item status error and not-applicable, shards, signature
_TRACE_LIMIT = 20_000


@dataclass(frozen=True)
class EvidenceFile:
    """Where an attachment went: a path inside the packet, or why it is not there."""

    path: str | None
    note: str = ""
    sha256: str | None = None


@dataclass(frozen=True)
class AllureStatus:
    rendered: bool
    detail: str
    path: str | None = None


@dataclass(frozen=True)
class Packet:
    verdict: GateVerdict
    generated_at: str
    provenance: Provenance
    evidence: Mapping[str, EvidenceFile]
    allure: AllureStatus
    baseline: BaselineDiff | None = None
    shards: tuple[Shard, ...] = ()

    @property
    def gate(self) -> str:
        return self.verdict.gate.id

    @property
    def decision(self) -> str:
        return self.verdict.decision


def packet_json(packet: Packet, redactor: Redactor) -> dict:
    verdict = packet.verdict
    gate = verdict.gate
    data = {
        "schema_version": SCHEMA_VERSION,
        "gate": gate.id,
        "name": gate.name,
        "objective": gate.objective,
        "stories": list(gate.stories),
        "decision": verdict.decision,
        "generated_at": packet.generated_at,
        "summary": {status: verdict.count(status) for status in ITEM_STATUSES},
        "waivers": [_waiver(state) for item in verdict.items for state in item.waivers],
        "items": [_item(item, packet.evidence) for item in verdict.items],
        "unmatched": [{"evidence": evidence, "test": case.name, "full_name": case.full_name}
                      for evidence, case in verdict.unmatched],
        "provenance": asdict(packet.provenance),
        "shards": [{"results": s.label, "results_sha256": s.results_sha256, "files": s.files,
                    "provenance": asdict(s.provenance)} for s in packet.shards],
        "not_applicable": [{"item": i.item.id, "capability": i.item.capability, "reason": i.reason}
                           for i in verdict.items if i.evidence_status == "not-applicable"],
        # set by `harness packet sign`; a packet is built unsigned
        "signature": {"signed": False, "key": None, "namespace": None},
        "allure_report": asdict(packet.allure),
        "baseline": asdict(packet.baseline) if packet.baseline is not None else None,
    }
    return redactor.value(data)


def _item(item: ItemVerdict, evidence: Mapping[str, EvidenceFile]) -> dict:
    spec = item.item
    document = item.document
    return {
        "id": spec.id,
        "kind": spec.kind,
        "capability": spec.capability,
        "proves": spec.proves,
        "stories": list(spec.stories),
        "waivable": spec.waivable,
        "min_tests": spec.min_tests,
        "status": item.status,
        "evidence_status": item.evidence_status,
        "reason": item.reason,
        "tests": [_test(v.case, v.counted, v.note, evidence) for v in item.cases],
        "metrics": [{
            "test": m.test, "name": m.metric.name, "value": m.metric.value, "unit": m.metric.unit,
            "comparison": m.comparison, "threshold": m.threshold, "threshold_from": m.threshold_from,
            "ok": m.ok,
        } for m in item.metrics],
        "thresholds": [asdict(t) for t in spec.thresholds],
        "document": None if document is None else {
            "check": spec.check, "subject": document.subject, "status": document.status,
            "problems": list(document.problems), "checked": list(document.checked),
        },
        "waiver": _waiver(item.waiver) if item.waiver is not None else None,
    }


def _test(case: TestCase, counted: bool, note: str, evidence: Mapping[str, EvidenceFile]) -> dict:
    final = case.final
    attachments: list[dict] = []
    seen: set[str] = set()
    for attempt in case.executed or case.attempts:
        for attachment in attempt.attachments:
            if attachment.source not in seen:
                seen.add(attachment.source)
                attachments.append(_attachment(attachment, evidence))
    return {
        "name": case.name,
        "full_name": case.full_name,
        "history_id": case.key,
        "status": case.outcome,
        # broken: an exception other than a failed check, in setup or harness code
        "error": case.outcome == "broken",
        "counted": counted,
        "note": note,
        "duration_ms": final.duration_ms,
        "attempts": [{"status": a.status, "duration_ms": a.duration_ms, "message": a.message}
                     for a in case.attempts],
        "message": final.message,
        "trace": final.trace[:_TRACE_LIMIT],
        "attachments": attachments,
        "metrics": [asdict(m) for m in case.metrics],
    }


def _attachment(attachment: Attachment, evidence: Mapping[str, EvidenceFile]) -> dict:
    published = evidence.get(attachment.source, EvidenceFile(None, "not copied"))
    return {"name": attachment.name, "type": attachment.type, "path": published.path,
            "sha256": published.sha256, "note": published.note}


def _waiver(state: WaiverState) -> dict:
    w = state.waiver
    return {"item": w.item, "reason": w.reason, "approver": w.approver,
            "expires": w.expires.isoformat(), "ticket": w.ticket, "state": state.state,
            "note": state.note}
