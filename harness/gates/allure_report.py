"""The Allure 3 report for one gate, rendered into the packet where Node.js is available.

Allure 3 is the npm package ``allure``, pinned in the harness's ``package.json`` and
``package-lock.json`` and installed with ``npm ci`` (only when ``node_modules`` is missing).
The report is generated from a staged copy of the gate's own results — only its tests, with
attachments redacted like the packet's — in the awesome plugin's single-file mode, and then
the analytics script tags Allure always adds are stripped, so the page makes no outside request.
If any outside reference remains, the report is dropped rather than shipped. The report's tree
groups tests by epic / feature / story, titled from the catalog
(:mod:`~harness.gates.behaviours`), rather than by suite path.

Without Node, npm or the pinned package the packet is complete all the same: the returned
:class:`~harness.gates.model.AllureStatus` says why there is no report, and the packet shows it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.gates.allure_renderer import AllureRenderer
from harness.gates.behaviours import GROUP_BY, behaviour_titles, titled_labels
from harness.gates.catalog import Catalog, Gate
from harness.gates.model import AllureStatus
from harness.gates.redaction import Redactor
from harness.gates.results import ResultSet, TestCase

__all__ = ["ABSENT", "REPORT_DIR", "outside_reference", "render_allure", "renderer", "strip_outside_requests"]

REPORT_DIR = "allure-report"
ABSENT = "the Allure CLI is absent"
_PROJECT = Path(__file__).resolve().parents[2]    # where package.json pins allure
_NPM_TIMEOUT = 600
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']https?://[^>]*>\s*</script>\s*", re.I)
_SCRIPT_OPEN = re.compile(r"<script\b[^>]*>", re.I)
_SPACE = re.compile(r"\s*")
_LINK_VALUE = re.compile(r"[\"'](?:https?:)?//", re.I)
_OUTSIDE = re.compile(r"<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*[\"'](https?:)?//", re.I)


def renderer() -> AllureRenderer:
    """A renderer for the reports of several packets, one Node process for all (close it)."""
    return AllureRenderer(_PROJECT)


def render_allure(results: ResultSet, cases: tuple[TestCase, ...], packet_dir: Path, title: str,
                  redactor: Redactor, *, project: Path = _PROJECT, gate: Gate | None = None,
                  catalog: Catalog | None = None, renderer: AllureRenderer | None = None) -> AllureStatus:
    """Renders the gate's report into ``packet_dir/allure-report`` with ``renderer`` (else one
    of its own for this report), and says how it went."""
    node = shutil.which("node")
    if node is None:
        return AllureStatus(False, f"{ABSENT}: Node.js is not installed here (node not on PATH)")
    if not (project / "package.json").is_file() or not (project / "package-lock.json").is_file():
        return AllureStatus(False, f"{ABSENT}: no package.json and package-lock.json pinning allure "
                                   f"in {project}")
    cli = project / "node_modules" / "allure" / "cli.js"
    if not cli.is_file():
        problem = _npm_ci(project)
        if problem:
            return AllureStatus(False, problem)
    version = _version(project)
    # beside the packet's staging folder and named after it (.S03-building-<pid>-...-allure-*),
    # not in the temp dir: a build killed outright leaves it where the next build of the gate
    # removes what dead processes left (packets_folder.remove_stale_staging)
    with tempfile.TemporaryDirectory(prefix=f"{packet_dir.name}-allure-", dir=packet_dir.parent) as stage_name:
        stage = Path(stage_name)
        staged = stage_results(cases, stage / "results", redactor, gate, catalog)
        # absolute: allure runs in the staging folder and would resolve a relative output there,
        # so with a relative --out the report was written into a folder deleted right after
        output = packet_dir.resolve() / REPORT_DIR
        (stage / "allurerc.json").write_text(json.dumps(allure_config(title, output)), encoding="utf-8")
        with contextlib.ExitStack() as stack:
            if renderer is None or renderer.project != project:
                renderer = stack.enter_context(AllureRenderer(project))
            problem = renderer.generate(stage / "allurerc.json", stage, stage / "results")
        if problem is None and not (output / "index.html").is_file():
            problem = f"allure generate wrote no {REPORT_DIR}/index.html"
        if problem is not None:
            shutil.rmtree(output, ignore_errors=True)
            return AllureStatus(False, problem)
    for page in output.rglob("*.html"):
        html = strip_outside_requests(page.read_text(encoding="utf-8"))
        leftover = outside_reference(html)
        if leftover:
            shutil.rmtree(output, ignore_errors=True)
            return AllureStatus(False, f"the Allure report would load an outside resource "
                                       f"({leftover[:80]}…), so it was not kept")
        page.write_text(html, encoding="utf-8")
    if any(redactor.leaks(f.read_bytes()) for f in output.rglob("*") if f.is_file()):
        shutil.rmtree(output, ignore_errors=True)
        return AllureStatus(False, "the Allure report contained a secret, so it was not kept")
    return AllureStatus(True, f"Allure {version}, single file, {staged} results, analytics removed",
                        f"{REPORT_DIR}/index.html")


def strip_outside_requests(html: str) -> str:
    """Removes script tags that load from the network and the inline analytics that feed them."""
    html = _sub_tags(_EXTERNAL_SCRIPT, lambda m: "", html, links=True)
    parts, last, passed = [], 0, 0
    for opening in _tag_matches(_SCRIPT_OPEN, html):
        if opening.start() < passed:
            continue                    # inside the script just passed
        end = _script_end(html, opening.end())
        if end < 0:
            continue
        passed = end = _SPACE.match(html, end).end()
        script = html[opening.start():end]
        if "gtag(" in script or "dataLayer" in script:
            parts.append(html[last:opening.start()])
            last = end
    parts.append(html[last:])
    return "".join(parts)


def outside_reference(html: str) -> str | None:
    """The first tag that would load something from the network (``src``/``href`` to
    ``http(s)://`` or ``//``), or None."""
    found = next(_tag_matches(_OUTSIDE, html, links=True), None)
    return found.group(0) if found else None


def _script_end(html: str, start: int) -> int:
    """Just after the first ``</script>`` (any case) from ``start``, or -1; found by ``</``,
    since a script body of the single-file report is megabytes of data without one."""
    pos = html.find("</", start)
    while pos >= 0:
        if html[pos:pos + 9].lower() == "</script>":
            return pos + 9
        pos = html.find("</", pos + 2)
    return -1


def _tag_matches(pattern: re.Pattern[str], html: str, *, links: bool = False) -> Iterator[re.Match[str]]:
    """``pattern.finditer(html)`` for a pattern that starts with ``<``, tried only where a ``<``
    is (and, with ``links``, only on a tag holding a quoted ``//`` or ``http(s)://`` value, which
    every pattern over outside links needs): a single-file report is ~4 MB, nearly all of it
    one ``data:`` attribute, and a case-insensitive pattern was tried at every character
    (~45 ms a pattern and report)."""
    pos = html.find("<")
    while pos >= 0:
        found = pattern.match(html, pos) if not links or _may_link(html, pos) else None
        if found:
            yield found
            pos = html.find("<", max(found.end(), pos + 1))
        else:
            pos = html.find("<", pos + 1)


def _may_link(html: str, start: int) -> bool:
    """Whether the tag at ``start`` (up to its first ``>``) has a quote followed by a link."""
    end = html.find(">", start)
    end = len(html) if end < 0 else end
    for quote in "\"'":
        at = html.find(quote, start, end)
        while at >= 0:
            if _LINK_VALUE.match(html, at):
                return True
            at = html.find(quote, at + 1, end)
    return False


def _sub_tags(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], html: str, *,
              links: bool = False) -> str:
    """``pattern.sub(replace, html)`` through :func:`_tag_matches`."""
    parts, last = [], 0
    for found in _tag_matches(pattern, html, links=links):
        parts += [html[last:found.start()], replace(found)]
        last = found.end()
    parts.append(html[last:])
    return "".join(parts)


def allure_config(title: str, output: Path) -> dict:
    """The allurerc: one single-file awesome report, its tree grouped by epic / feature / story."""
    return {"name": title, "output": str(output),
            "plugins": {"awesome": {"options": {"singleFile": True, "reportName": title,
                                                "groupBy": list(GROUP_BY)}}}}


def stage_results(cases: tuple[TestCase, ...], stage: Path, redactor: Redactor,
                  gate: Gate | None = None, catalog: Catalog | None = None) -> int:
    """Copies the gate's results (redacted, behaviours titled) into ``stage``; returns how many."""
    stage.mkdir(parents=True)
    titles = behaviour_titles(catalog, gate) if gate is not None and catalog is not None else {}
    count = 0
    for case in cases:
        for attempt in case.attempts:
            # redact the parsed values, not the JSON text: a pattern must not eat a quote
            result = redactor.value(json.loads(attempt.path.read_text(encoding="utf-8")))
            if gate is not None and isinstance(result.get("labels"), list):
                result["labels"] = titled_labels(result["labels"], case.evidence, gate, titles)
            (stage / attempt.file).write_text(json.dumps(result), encoding="utf-8")
            count += 1
            for attachment in attempt.attachments:
                src = attachment.path
                if not attachment.present or (stage / attachment.source).exists():
                    continue
                data = redactor.file_bytes(src.read_bytes(), attachment.type)
                if data is not None:
                    (stage / attachment.source).write_bytes(data)
    return count


def _npm_ci(project: Path) -> str | None:
    npm = shutil.which("npm")
    if npm is None:
        return f"{ABSENT}: npm is not installed here, so it could not be installed (run npm ci)"
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=project, capture_output=True,
                              text=True, timeout=_NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"{ABSENT}: npm ci took longer than {_NPM_TIMEOUT} s"
    if done.returncode != 0 or not (project / "node_modules" / "allure" / "cli.js").is_file():
        return f"{ABSENT}: npm ci failed (exit {done.returncode}): {_last_line(done.stderr or done.stdout)}"
    return None


def _version(project: Path) -> str:
    try:
        return json.loads((project / "node_modules" / "allure" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "(unknown version)"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and "Unknown user config" not in line]
    return lines[-1][:200] if lines else "no output"
