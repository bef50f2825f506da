"""Whose fault an exception in a test body is: the target's, or the harness's.

An exception other than a failed check, raised while a test runs, is an error of the harness
by default (Allure "broken"; the packet shows it apart from failures, as "errored in setup or
harness code"). When the target raised it, that reason is false, and a harness-looking error
invites a waiver. :func:`blame` decides from the exception alone, one rule for every family:

- **the target's code raised it**: of the traceback's frames that belong to the harness
  (``harness``, ``scenarios``, ``tests``) or to the target (the packages of the adapter class
  and of its bases, the API app's package, an adapter file next to the spec), the innermost one
  is the target's;
- **the target's SQL raised it**: a database error whose server context names one of the
  target's routines (a function, procedure or trigger body; not an anonymous ``DO`` block);
- **the target's API answered 5xx** during the test (noted by :func:`note_response`), and the
  harness could not go on after it.

The environment is never the target: a connection that fails or is refused, a server out of
connections or shutting down (SQLSTATE classes 08, 53, 57, 58), a pool timeout, an operating
system error. Nor is setup: only the test's call phase is judged (see the plugin). The plugin
turns a target's exception into :class:`TargetRaised`, a failure of the target (Allure
"failed") with the exception, its SQLSTATE and server diagnostics attached.
"""

from __future__ import annotations

import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.evidence import EvidenceFailure
from harness.secrets import redact

__all__ = ["HARNESS_PACKAGES", "Blame", "TargetRaised", "blame", "clear_responses", "note_response",
           "target_failure", "target_packages"]

HARNESS_PACKAGES = frozenset({"harness", "scenarios", "tests", "conftest"})
# connection, resources, operator intervention, system: the environment, not the target
_ENVIRONMENT_SQLSTATE = ("08", "53", "57", "58")
_NOT_TARGET = frozenset({"builtins", "typing", "abc", "typing_extensions"}) | HARNESS_PACKAGES


class TargetRaised(EvidenceFailure):
    """The target raised an exception where it should have answered: a failure of the target."""


@dataclass(frozen=True)
class Blame:
    """Why an exception is the target's: the rule and where it applied."""

    reason: str


_responses: list[str] = []
_lock = threading.Lock()


def note_response(response: Any) -> None:
    """An HTTP response hook (httpx ``event_hooks["response"]``): remembers every 5xx the
    target's API answers during the running test."""
    status = getattr(response, "status_code", 0)
    if isinstance(status, int) and status >= 500:
        request = getattr(response, "request", None)
        line = f"{getattr(request, 'method', '?')} {getattr(request, 'url', '?')} -> {status}"
        with _lock:
            _responses.append(line)


def clear_responses() -> None:
    with _lock:
        _responses.clear()


def _server_errors() -> list[str]:
    with _lock:
        return list(_responses)


def target_packages(adapter_class: type | None, asgi: str | None = None) -> frozenset[str]:
    """The top-level module names whose code is the target's: the adapter class's and its
    bases' (a Protocol of the harness excluded), and the API app's."""
    names = set()
    for klass in getattr(adapter_class, "__mro__", ()):
        names.add(klass.__module__.split(".", 1)[0])
    if asgi:
        names.add(asgi.split(":", 1)[0].split(".", 1)[0])
    return frozenset(n for n in names if n not in _NOT_TARGET and n not in sys.stdlib_module_names)


def _environment(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, psycopg.InterfaceError):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith(_ENVIRONMENT_SQLSTATE)
    return False


def _routine(exc: BaseException) -> str | None:
    """The target's routine named in a database error's server context, if any."""
    if not isinstance(exc, psycopg.Error) or exc.diag is None:
        return None
    context = exc.diag.context or ""
    for line in context.splitlines():
        if "function" in line and "inline_code_block" not in line:
            return line.strip()
    return None


def _owner(exc: BaseException, packages: frozenset[str]) -> tuple[str, str] | None:
    """(``target`` or ``harness``, where) of the innermost frame either side owns."""
    for frame, lineno in reversed(list(traceback.walk_tb(exc.__traceback__))):
        module = str(frame.f_globals.get("__name__", ""))
        top = module.split(".", 1)[0]
        where = f"{module}:{lineno} ({frame.f_code.co_name})"
        if top in packages:
            return "target", where
        if top in HARNESS_PACKAGES:
            return "harness", where
    return None


def blame(exc: BaseException, packages: frozenset[str]) -> Blame | None:
    """The target's :class:`Blame` for ``exc``, or None when it stays the harness's."""
    if isinstance(exc, BaseExceptionGroup):
        verdicts = [blame(e, packages) for e in exc.exceptions if not isinstance(e, AssertionError)]
        if verdicts and all(verdicts):
            return Blame("; ".join(sorted({v.reason for v in verdicts if v})))
        return None
    if isinstance(exc, AssertionError) or _environment(exc):
        return None
    routine = _routine(exc)
    if routine is not None:
        return Blame(f"the database raised it inside the target's SQL ({routine})")
    owner = _owner(exc, packages)
    if owner is not None and owner[0] == "target":
        return Blame(f"raised in the target's code, {owner[1]}")
    served = _server_errors()
    if served:
        return Blame(f"the target's API answered {served[0].rsplit(' ', 1)[-1]} before the "
                     f"check broke ({len(served)} server error(s))")
    return None


def target_failure(exc: BaseException, why: Blame) -> TargetRaised:
    """The failure of the target that ``exc`` is, with everything a reviewer needs."""
    text = redact(f"{type(exc).__name__}: {exc}".strip())
    sections = [("why this is the target's", why.reason),
                ("the target's exception", redact("".join(traceback.format_exception(exc))))]
    if isinstance(exc, psycopg.Error) and exc.diag is not None:
        diag = exc.diag
        fields = {"sqlstate": exc.sqlstate, "message": diag.message_primary, "detail": diag.message_detail,
                  "hint": diag.message_hint, "context": diag.context, "schema": diag.schema_name,
                  "table": diag.table_name, "column": diag.column_name, "constraint": diag.constraint_name}
        sections.append(("SQLSTATE and server diagnostics",
                         redact("\n".join(f"{k}: {v}" for k, v in fields.items() if v))))
    served = _server_errors()
    if served:
        sections.append(("server errors the target's API answered", "\n".join(served[-20:])))
    first = text.splitlines()[0] if text else type(exc).__name__
    return TargetRaised(f"the target raised {first}", sections)
