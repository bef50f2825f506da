"""Writes Allure result files shaped like allure-pytest's own (checked against a real run in
``test_results.py``), so packets can be built from result sets the tests choose."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any


class ResultFiles:
    """An ``--alluredir`` being filled one test attempt at a time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._clock = 1_700_000_000_000

    def add(self, name: str, status: str = "passed", *, evidence: tuple[str, ...] = (),
            history_id: str | None = None, duration_ms: int = 5, message: str = "",
            trace: str = "", attachments: tuple[tuple[str, str, bytes], ...] = (),
            metrics: tuple[dict[str, Any], ...] = (), parameters: tuple[tuple[str, str], ...] = (),
            start: int | None = None, extra: dict[str, Any] | None = None) -> Path:
        """One attempt; attempts sharing ``history_id`` are reruns of one test."""
        file_uuid = str(uuid.uuid4())
        if start is None:
            start = self._clock
            self._clock += duration_ms + 1
        labels = [{"name": "suite", "value": "scenarios"}, {"name": "framework", "value": "pytest"}]
        for item in evidence:
            labels += [{"name": "evidence", "value": item},
                       {"name": "gate", "value": item.split(".", 1)[0]}]
        result: dict[str, Any] = {
            "name": name,
            "status": status,
            "start": start,
            "stop": start + duration_ms,
            "uuid": file_uuid,
            "historyId": history_id or uuid.uuid5(uuid.NAMESPACE_URL, name).hex,
            "testCaseId": uuid.uuid5(uuid.NAMESPACE_URL, name).hex,
            "fullName": f"scenarios.test_gate#{name}",
            "labels": labels,
            "titlePath": ["scenarios", "test_gate.py"],
        }
        if message or trace or status in ("failed", "broken", "skipped"):
            result["statusDetails"] = {"message": message or f"{status}: {name}", "trace": trace}
        files = []
        for att_name, att_type, body in attachments:
            files.append(self._attachment(att_name, att_type, body))
        for metric in metrics:
            files.append(self._attachment(f"metric:{metric['name']}", "application/json",
                                          json.dumps(metric).encode()))
        if files:
            result["attachments"] = files
        params = [{"name": k, "value": v} for k, v in parameters]
        if params:
            result["parameters"] = params
        result.update(extra or {})
        path = self.directory / f"{file_uuid}-result.json"
        path.write_text(json.dumps(result), encoding="utf-8")
        return path

    def _attachment(self, name: str, content_type: str, body: bytes) -> dict[str, str]:
        suffix = {"text/plain": "txt", "application/json": "json", "image/png": "png",
                  "image/svg+xml": "svg"}.get(content_type, "attach")
        source = f"{uuid.uuid4()}-attachment.{suffix}"
        (self.directory / source).write_bytes(body)
        return {"name": name, "source": source, "type": content_type}

    def provenance(self, data: dict[str, Any]) -> None:
        (self.directory / "harness-provenance.json").write_text(json.dumps(data), encoding="utf-8")
