"""Reading Allure results: the ``*-result.json`` files pytest writes with ``--alluredir``.

What is read, and how:

- **One file per attempt.** Every ``*-result.json`` is one run of one test. Keys Allure may
  leave out (``historyId``, ``start``/``stop``, ``labels``, ``attachments``, ``parameters``,
  ``statusDetails``, ``steps``) may be absent; ``status`` must be there. Allure's ``unknown``
  status (a run cut short) is read as ``broken``. ``*-container.json`` files are ignored.
- **Reruns share a ``historyId``.** Attempts with the same ``historyId`` (else ``fullName`` plus
  parameters, else the file's ``uuid``) form one :class:`TestCase`, ordered by ``start``.
  Skipped attempts are never evidence. The outcome is the last executed attempt's status,
  except that a pass after a failed or broken attempt is ``flaky``, and so is a pass that
  Allure itself marks ``statusDetails.flaky: true``; with no executed attempt the case is
  ``skipped``.
- **Shards.** :func:`read_results` takes several directories (a CI matrix, one per job); a
  test that ran in more than one of them with different outcomes is ``flaky``.
- **Nothing outside the directory.** An attachment must be a plain file name inside the
  results directory and a regular file, not a symbolic link: a link (to ``/etc/shadow``, say)
  is an error, never evidence.
- **Evidence labels.** ``evidence=<item id>`` labels (a test may carry several) say which items a
  test feeds; its gates are the ``gate`` labels plus the prefix of each evidence id.
- **Metrics** (what SLO items need): a measured value is read from either
  - an attachment named ``metric:<name>`` of type ``application/json`` whose body is
    ``{"name": str, "value": number, "unit": str, "threshold": number, "comparison": op}``
    (``unit``, ``threshold`` and ``comparison`` optional; ``op`` one of ``<= < >= > ==``;
    ``name`` defaults to the part after ``metric:``), or
  - a parameter named ``metric:<name>`` whose value is a number (Allure stores it as text).
    The SLO tests should add it with ``excluded=True`` so that it does not change ``historyId``.
  When both are present the attachment wins, since it carries unit and threshold. A metric that
  is not a number is an error, as is any attachment whose ``source`` is not a plain file name.
- ``harness-provenance.json``, written by the pytest plugin at session end, is read as is.

Anything malformed is a :class:`~harness.errors.ConfigError` naming the file and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.evidence import COMPARISONS, LABEL_EVIDENCE, LABEL_GATE, METRIC_PREFIX

__all__ = ["OUTCOMES", "Attachment", "Attempt", "Metric", "ResultSet", "TestCase", "outcome_of",
           "read_results"]

STATUSES = ("passed", "failed", "broken", "skipped")
OUTCOMES = ("passed", "failed", "broken", "skipped", "flaky")
PROVENANCE_FILE = "harness-provenance.json"
_FIX = "re-run the suites with --alluredir, or remove the damaged file"


@dataclass(frozen=True)
class Attachment:
    name: str
    source: str      # a file name inside the results directory
    type: str
    present: bool    # False when the result names a file that is not there
    directory: Path = Path()   # the results directory holding it

    @property
    def path(self) -> Path:
        return self.directory / self.source


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = ""
    threshold: float | None = None
    comparison: str | None = None


@dataclass(frozen=True)
class Attempt:
    uuid: str
    status: str
    start: int | None
    stop: int | None
    message: str = ""
    trace: str = ""
    attachments: tuple[Attachment, ...] = ()
    metrics: tuple[Metric, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    file: str = ""
    directory: Path = Path()   # the results directory (shard) it was read from
    shard: int = 0
    marked_flaky: bool = False  # Allure's statusDetails.flaky

    @property
    def path(self) -> Path:
        return self.directory / self.file

    @property
    def duration_ms(self) -> int | None:
        if self.start is None or self.stop is None:
            return None
        return max(0, self.stop - self.start)

    def label_values(self, name: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.labels if k == name)


def outcome_of(statuses: list[str] | tuple[str, ...], *, marked_flaky: bool = False,
               shards_disagree: bool = False) -> str:
    """A test's outcome from its attempts' statuses in run order (see the module docstring)."""
    executed = [s for s in statuses if s != "skipped"]
    if not executed:
        return "skipped"
    last = executed[-1]
    if last == "passed" and (marked_flaky or any(s in ("failed", "broken") for s in executed[:-1])):
        return "flaky"
    if shards_disagree:
        return "flaky"
    return last


@dataclass(frozen=True)
class TestCase:
    key: str
    name: str
    full_name: str
    attempts: tuple[Attempt, ...]

    __test__ = False  # not a pytest test class, whatever its name

    @property
    def outcome(self) -> str:
        executed = self.executed
        by_shard: dict[int, set[str]] = {}
        for attempt in executed:
            by_shard.setdefault(attempt.shard, set()).add(attempt.status)
        # a test run in two shards (two CI jobs) with different outcomes cannot be trusted
        disagree = len(by_shard) > 1 and len({a.status for a in executed}) > 1
        return outcome_of([a.status for a in self.attempts],
                          marked_flaky=any(a.marked_flaky for a in executed),
                          shards_disagree=disagree)

    @property
    def executed(self) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.status != "skipped")

    @property
    def final(self) -> Attempt:
        executed = self.executed
        return executed[-1] if executed else self.attempts[-1]

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return self.final.metrics

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(sorted({v for a in self.attempts for v in a.label_values(LABEL_EVIDENCE)}))

    @property
    def gates(self) -> tuple[str, ...]:
        gates = {v for a in self.attempts for v in a.label_values(LABEL_GATE)}
        gates.update(e.split(".", 1)[0] for e in self.evidence)
        return tuple(sorted(gates))


@dataclass(frozen=True)
class ResultSet:
    directory: Path                      # the first (often the only) results directory
    cases: tuple[TestCase, ...]
    provenance: dict[str, Any] | None    # the first directory's record
    directories: tuple[Path, ...] = ()
    provenances: tuple[dict[str, Any] | None, ...] = ()   # one per directory

    def for_item(self, item_id: str) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if item_id in c.evidence)

    def for_gate(self, gate_id: str) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if gate_id in c.gates)


def read_results(directory: str | Path | list[str | Path] | tuple[str | Path, ...]) -> ResultSet:
    """Reads one results directory, or several (shards of one run) as one set of tests."""
    directories = [Path(d) for d in directory] if isinstance(directory, list | tuple) else [Path(directory)]
    if not directories:
        raise ConfigError("--results", "", "no results directory given", "pass --results DIR")
    attempts: dict[str, list[Attempt]] = {}
    names: dict[str, tuple[str, str]] = {}
    for shard, folder in enumerate(directories):
        _check_directory(folder)
        for file in sorted(folder.glob("*-result.json")):
            raw = _load_json(file)
            attempt = _attempt(folder, file, raw, shard)
            key = _history_key(raw, attempt)
            attempts.setdefault(key, []).append(attempt)
            names[key] = (str(raw.get("name") or raw.get("fullName") or attempt.uuid),
                          str(raw.get("fullName") or raw.get("name") or ""))
    cases = []
    for key, group in attempts.items():
        group.sort(key=lambda a: (a.start if a.start is not None else 0, a.stop or 0, a.shard, a.file))
        cases.append(TestCase(key=key, name=names[key][0], full_name=names[key][1], attempts=tuple(group)))
    cases.sort(key=lambda c: (c.full_name, c.name, c.key))
    provenances = tuple(_provenance(folder) for folder in directories)
    return ResultSet(directory=directories[0], cases=tuple(cases), provenance=provenances[0],
                     directories=tuple(directories), provenances=provenances)


def _check_directory(directory: Path) -> None:
    if directory.is_symlink():
        raise ConfigError(str(directory), "", "is a symbolic link",
                          "pass the results directory itself, not a link to it")
    if directory.exists() and not directory.is_dir():
        raise ConfigError(str(directory), "", "is a file, not a results directory",
                          "pass --results DIR written by pytest --alluredir DIR")
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "results directory not found",
                          "pass --results DIR written by pytest --alluredir DIR")


def _load_json(file: Path) -> Any:
    if file.is_symlink():
        raise ConfigError(str(file), "", "is a symbolic link; a results directory holds plain files",
                          "remove the link: the harness never follows one out of the results")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(str(file), f"line {exc.lineno}", f"not valid JSON ({exc.msg})", _FIX) from None
    except RecursionError:
        raise ConfigError(str(file), "", "nested too deeply to be a test result", _FIX) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), "", f"cannot be read ({exc})", _FIX) from None


def _attempt(directory: Path, file: Path, raw: Any, shard: int = 0) -> Attempt:
    where = str(file)
    if not isinstance(raw, dict):
        raise ConfigError(where, "", "must be a JSON object (an Allure test result)", _FIX)
    status = raw.get("status")
    if status == "unknown":
        status = "broken"
    if status not in STATUSES:
        raise ConfigError(where, "status", f"{status!r} is not an Allure status",
                          f"expected one of {', '.join(STATUSES)}, unknown")
    labels = tuple((k, v) for k, v in _pairs(where, "labels", raw.get("labels")))
    parameters = tuple(_pairs(where, "parameters", raw.get("parameters")))
    details = raw.get("statusDetails") or {}
    if not isinstance(details, dict):
        raise ConfigError(where, "statusDetails", "must be an object", _FIX)
    attachments = tuple(_attachments(directory, where, raw))
    metrics = _metrics(directory, where, attachments, parameters)
    return Attempt(
        uuid=str(raw.get("uuid") or file.name.removesuffix("-result.json")), status=status,
        start=_millis(where, "start", raw.get("start")), stop=_millis(where, "stop", raw.get("stop")),
        message=str(details.get("message") or ""), trace=str(details.get("trace") or ""),
        attachments=attachments, metrics=metrics, labels=labels, parameters=parameters,
        file=file.name, directory=directory, shard=shard, marked_flaky=details.get("flaky") is True,
    )


def _history_key(raw: dict[str, Any], attempt: Attempt) -> str:
    if raw.get("historyId"):
        return str(raw["historyId"])
    if raw.get("fullName"):
        params = ",".join(f"{k}={v}" for k, v in attempt.parameters if not k.startswith(METRIC_PREFIX))
        return f"{raw['fullName']}[{params}]"
    return attempt.uuid


def _pairs(where: str, fld: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(where, fld, "must be a list of {name, value}", _FIX)
    pairs = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(where, f"{fld}[{index}]", "must be an object with name and value", _FIX)
        pairs.append((str(entry["name"]), "" if entry.get("value") is None else str(entry["value"])))
    return pairs


def _attachments(directory: Path, where: str, node: dict[str, Any], path: str = "") -> list[Attachment]:
    found = []
    entries = node.get("attachments") or []
    if not isinstance(entries, list):
        raise ConfigError(where, f"{path}attachments", "must be a list", _FIX)
    for index, entry in enumerate(entries):
        fld = f"{path}attachments[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            raise ConfigError(where, fld, "must be an object with name, source and type", _FIX)
        source = entry["source"]
        if Path(source).name != source or source in ("", ".", ".."):
            raise ConfigError(where, f"{fld}.source", f"{source!r} is not a file name in the results directory",
                              "attachments must live next to the result files")
        if (directory / source).is_symlink():
            raise ConfigError(where, f"{fld}.source", f"{source!r} is a symbolic link",
                              "attach the file itself: the harness never follows a link out of "
                              "the results directory")
        found.append(Attachment(name=str(entry.get("name") or source), source=source,
                                type=str(entry.get("type") or "application/octet-stream"),
                                present=(directory / source).is_file(), directory=directory))
    steps = node.get("steps") or []
    if not isinstance(steps, list):
        raise ConfigError(where, f"{path}steps", "must be a list", _FIX)
    for index, step in enumerate(steps):
        if isinstance(step, dict):
            found.extend(_attachments(directory, where, step, f"{path}steps[{index}]."))
    return found


def _metrics(directory: Path, where: str, attachments: tuple[Attachment, ...],
             parameters: tuple[tuple[str, str], ...]) -> tuple[Metric, ...]:
    metrics: dict[str, Metric] = {}
    for name, value in parameters:
        if name.startswith(METRIC_PREFIX):
            metric = name.removeprefix(METRIC_PREFIX)
            metrics[metric] = Metric(name=metric, value=_number(where, f"parameters.{name}", value))
    for attachment in attachments:
        if not attachment.name.startswith(METRIC_PREFIX) or not attachment.present:
            continue
        file = directory / attachment.source
        body = _load_json(file)
        fld = f"attachment {attachment.name!r}"
        if not isinstance(body, dict) or "value" not in body:
            raise ConfigError(str(file), fld, "must be a JSON object with at least 'value'",
                              'attach {"name", "value", "unit", "threshold", "comparison"}')
        metric = str(body.get("name") or attachment.name.removeprefix(METRIC_PREFIX))
        comparison = body.get("comparison")
        if comparison is not None and comparison not in COMPARISONS:
            raise ConfigError(str(file), f"{fld}.comparison", f"{comparison!r} is not a comparison",
                              f"use one of {' '.join(COMPARISONS)}")
        threshold = body.get("threshold")
        metrics[metric] = Metric(
            name=metric, value=_number(str(file), f"{fld}.value", body["value"]),
            unit=str(body.get("unit") or ""),
            threshold=None if threshold is None else _number(str(file), f"{fld}.threshold", threshold),
            comparison=comparison,
        )
    return tuple(metrics[name] for name in sorted(metrics))


def _number(where: str, fld: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(where, fld, f"{value!r} is not a number", "attach the measured value as a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(where, fld, f"{value!r} is not a number",
                          "attach the measured value as a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(where, fld, f"{value!r} is not a finite number", "attach a finite value")
    return number


def _millis(where: str, fld: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(where, fld, f"must be epoch milliseconds, got {value!r}", _FIX)
    return int(value)


def _provenance(directory: Path) -> dict[str, Any] | None:
    file = directory / PROVENANCE_FILE
    if not file.is_file():
        return None
    raw = _load_json(file)
    if not isinstance(raw, dict):
        raise ConfigError(str(file), "", "must be a JSON object", "let the harness plugin write it")
    return raw
