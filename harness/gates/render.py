"""Renderers: the packet's plain data in, a document out, through Jinja2 templates.

A renderer is anything matching :class:`Renderer`; :data:`RENDERERS` holds them by name. Each
receives the ``packet.json`` dict and the packet directory (to inline evidence that was already
copied and redacted there), and never the dataclasses: the templates see exactly what a reader
of ``packet.json`` sees. The HTML page is self-contained: styles inline, images as data URIs,
and a Content-Security-Policy that forbids every outside request.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.gates.causes import error_groups, first_line, why_not_met
from harness.gates.plots import plots_by_item

__all__ = ["RENDERERS", "SECTIONS", "HtmlRenderer", "MarkdownRenderer", "Renderer", "section_title"]

# The packet's sections, in the one order both documents follow (an id in index.html, a heading
# in packet.md): the decision and why first, then what covers for it, then the items with their
# measured values, then the evidence of what is not met, folded. Present only when they apply:
# not-applicable, errors, changes (a baseline was given) and unmatched.
SECTIONS = ("decision", "why", "waivers", "not-applicable", "items", "failures", "errors",
            "changes", "unmatched", "provenance", "allure")
_TITLES = {
    "waivers": "Waivers",
    "not-applicable": "Not applicable to this target",
    "items": "Evidence items",
    "failures": "Not met or waived, with the evidence",
    "errors": "Errors (in setup or harness code, not failures of the target)",
    "changes": "Since the baseline",
    "provenance": "Provenance",
    "allure": "Allure report",
}


def section_title(section: str, packet: dict[str, Any]) -> str:
    """A section's heading, the same words in HTML and Markdown."""
    if section == "why":
        return f"Why {packet['decision']}"
    if section == "unmatched":
        return f"Tests for {packet['gate']} that feed no catalog item"
    if section == "decision":
        return f"{packet['gate']} · {packet['name']}: {packet['decision']}"
    return _TITLES[section]

_INLINE_TEXT_LIMIT = 20_000
_INLINE_IMAGE_LIMIT = 2_000_000
_IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif")


class Renderer(Protocol):
    filename: str

    def render(self, packet: dict[str, Any], directory: Path) -> str: ...


@functools.cache   # compiling the templates costs more than rendering them: once per process
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        extensions=["jinja2.ext.do"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = _md_cell
    env.filters["duration"] = _duration
    env.filters["clip"] = _clip
    env.filters["pct"] = _pct
    env.filters["first_line"] = first_line
    env.filters["number"] = _number
    return env


def _md_cell(value: Any) -> str:
    """Text that cannot break a Markdown table row."""
    return str(value if value is not None else "").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _duration(ms: Any) -> str:
    if ms is None:
        return "–"
    ms = int(ms)
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _clip(text: Any, limit: int = 2000) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters in packet.json)"


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:g}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value * 100:+.0f}%"


class MarkdownRenderer:
    """``packet.md``: the packet as a pull-request comment."""

    filename = "packet.md"
    template = "packet.md.j2"

    def render(self, packet: dict[str, Any], directory: Path) -> str:
        return _environment().get_template(self.template).render(packet=packet, **_shared(packet))


class HtmlRenderer:
    """``index.html``: one self-contained page for the release lead."""

    filename = "index.html"
    template = "index.html.j2"

    def render(self, packet: dict[str, Any], directory: Path) -> str:
        return _environment().get_template(self.template).render(
            packet=packet, plots=plots_by_item(packet), inline=_inline_evidence(packet, directory),
            **_shared(packet))


def _shared(packet: dict[str, Any]) -> dict[str, Any]:
    # waived items stay in view: a reader should see what the waiver is covering for
    not_met = [i for i in packet["items"] if i["status"] != "met"]
    # errors (broken: setup or harness code) are grouped by cause, apart from failures of the target
    return {"not_met": not_met, "why": why_not_met(packet), "error_groups": error_groups(packet),
            "title": lambda section: section_title(section, packet)}


def _inline_evidence(packet: dict[str, Any], directory: Path) -> dict[str, dict[str, Any]]:
    """Attachments worth showing on the page: the evidence of failures, and every image."""
    inline: dict[str, dict[str, Any]] = {}
    for item in packet["items"]:
        for test in item["tests"]:
            failing = test["status"] in ("failed", "broken", "flaky")
            for attachment in test["attachments"]:
                path = attachment.get("path")
                if not path or path in inline:
                    continue
                file = directory / path
                if not file.is_file():
                    continue
                kind = attachment["type"]
                if kind in _IMAGE_TYPES and file.stat().st_size <= _INLINE_IMAGE_LIMIT:
                    data = base64.b64encode(file.read_bytes()).decode("ascii")
                    inline[path] = {"kind": "image", "src": f"data:{kind};base64,{data}"}
                elif failing and (kind.startswith("text/") or kind in ("application/json", "application/xml")):
                    text = file.read_text(encoding="utf-8", errors="replace")
                    inline[path] = {"kind": "text", "text": text[:_INLINE_TEXT_LIMIT],
                                    "truncated": len(text) > _INLINE_TEXT_LIMIT}
    return inline


RENDERERS: dict[str, Renderer] = {"markdown": MarkdownRenderer(), "html": HtmlRenderer()}
