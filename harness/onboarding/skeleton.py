"""Adapter skeletons: every method of the capabilities a user names, typed, documented, unsupported.

``harness init --adapter events,entitlements`` writes one module with one class holding every
method of those capability Protocols, with the Protocol's own signature (annotations imported
from where the Protocol takes them) and docstring, and a body that raises ``Unsupported``. The
user implements what the product has; a method left raising is an error in the packet until the
capability is declared under ``unsupported:`` with its reason. ``tenants`` is the optional
``create_tenant(label) -> Principal`` (needed when the binding names more than ``{tenant_id}``).
"""

from __future__ import annotations

import builtins
import inspect
import re
import sys
from collections.abc import Iterable

from harness.errors import ConfigError
from harness.onboarding.protocols import UNSUPPORTED, adapter_protocols, capability_names

__all__ = ["EXTRA", "render_skeleton", "resolve_capabilities"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _extra() -> dict[str, type]:
    from harness.adapter import RowOverrides, TenantCreator

    return {"tenants": TenantCreator, "row-overrides": RowOverrides}


EXTRA = ("tenants", "row-overrides")


def resolve_capabilities(text: str, where: str = "--adapter") -> dict[str, type]:
    """``"events,entitlements"`` -> their Protocols; an unknown name lists the known ones."""
    known = {**adapter_protocols(), **_extra()}
    names = [n.strip() for n in text.split(",") if n.strip()]
    spec_provided = sorted(set(capability_names()) - set(known))
    if not names:
        raise ConfigError(where, "", "names no capability", f"e.g. --adapter events,entitlements; "
                          f"known: {', '.join(known)}")
    for name in names:
        if name in spec_provided:
            raise ConfigError(where, "", f"{name!r} is provided by the spec, not by an adapter",
                              "leave it out of --adapter; the draft says which spec key it needs")
        if name not in known:
            raise ConfigError(where, "", f"{name!r} is not a capability",
                              f"use some of: {', '.join(known)}")
    return {name: known[name] for name in dict.fromkeys(names)}


def render_skeleton(protocols: dict[str, type], class_name: str = "Adapter") -> str:
    """The module's text: imports, then one class with every method of every Protocol."""
    imports: dict[str, set[str]] = {}
    body: list[str] = []
    seen: set[str] = set()
    for capability, protocol in protocols.items():
        doc = inspect.cleandoc(vars(protocol).get("__doc__") or "")  # its own, not Protocol's
        body.append(f"    # -- {capability} ({protocol.__module__}.{protocol.__name__})" +
                    (f": {doc.splitlines()[0]}" if doc else ""))
        for name, function in _methods(protocol):
            if name in seen:  # the same operation in two capabilities: one method serves both
                continue
            seen.add(name)
            body += _method(capability, protocol, name, function, imports)
    header = _header(protocols, imports)
    return "\n".join(header + ["", "", f"class {class_name}:",
                               '    """The product\'s adapter: one method per business operation."""',
                               "",
                               "    def __init__(self, db: Database) -> None:",
                               "        self.db = db   # db.connect_owner() to seed, db.connect_app() "
                               "to act as the app role",
                               "", *body]).rstrip() + "\n"


def _methods(protocol: type) -> Iterable[tuple[str, object]]:
    for cls in reversed([c for c in protocol.__mro__ if c.__module__ not in ("typing", "builtins")]):
        for name, value in vars(cls).items():
            if callable(value) and not name.startswith("_"):
                yield name, value


def _method(capability: str, protocol: type, name: str, function, imports) -> list[str]:
    signature = inspect.signature(function)
    params = []
    star_done = False
    for param in signature.parameters.values():
        if param.kind is param.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text, star_done = "*" + text, True
        elif param.kind is param.VAR_KEYWORD:
            text = "**" + text
        if param.annotation is not param.empty:
            text += f": {_annotation(param.annotation, protocol, imports)}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        params.append(text)
    returns = ""
    if signature.return_annotation is not signature.empty:
        returns = f" -> {_annotation(signature.return_annotation, protocol, imports)}"
    own = inspect.cleandoc(vars(protocol).get("__doc__") or "")  # a one-method Protocol's doc
    doc = inspect.getdoc(function) or own or f"See {protocol.__name__}.{name}."
    lines = [f"    def {name}({', '.join(params)}){returns}:", '        """' + doc.replace('"""', "'''")]
    if "\n" in doc:
        lines = lines[:-1] + ['        """' + doc.splitlines()[0]] + \
            [("        " + line).rstrip() for line in doc.splitlines()[1:]] + ['        """']
    else:
        lines[-1] += '"""'
    fix = (f"declare unsupported: {{{capability}: <reason>}} in the spec" if capability not in EXTRA
           else "the spec's binding needs it" if capability == "tenants" else "or delete it")
    lines += [f'        raise Unsupported("{capability}: {name} is not implemented: implement it; '
              f'{fix}")', ""]
    return lines


def _annotation(annotation: object, protocol: type, imports: dict[str, set[str]]) -> str:
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    namespace = vars(sys.modules[protocol.__module__])
    for name in set(_NAME.findall(text)):
        if hasattr(builtins, name) or name == "None" or name not in namespace:
            continue
        imports.setdefault(_home(namespace[name], protocol.__module__), set()).add(name)
    return text


def _home(value: object, fallback: str) -> str:
    """The module to import ``value`` from: where it is defined, if it is found there."""
    module = getattr(value, "__module__", None)
    name = getattr(value, "__name__", None)
    if module and name and getattr(sys.modules.get(module), name, None) is value:
        return module
    return fallback


def _header(protocols: dict[str, type], imports: dict[str, set[str]]) -> list[str]:
    names = ",".join(protocols)
    if UNSUPPORTED is not NotImplementedError:
        imports.setdefault("harness", set()).add("Unsupported")
        unsupported = None
    else:
        unsupported = "Unsupported = NotImplementedError   # harness.Unsupported, once the harness has it"
    lines = [f'"""The target adapter (skeleton written by `harness init --adapter {names}`).',
             "",
             "Implement each operation the product has, the product's own way (its functions, its",
             "API); a method still raising Unsupported is an error in the packet until its capability",
             "is declared under `unsupported:` in the spec, with the reason.",
             '"""',
             "",
             "from __future__ import annotations",
             ""]
    imports.setdefault("harness.lifecycle", set()).add("Database")
    stdlib = sorted(m for m in imports if m.split(".")[0] in sys.stdlib_module_names)
    others = sorted(m for m in imports if m not in stdlib)
    for group in (stdlib, others):  # isort's order: the standard library first
        if group:
            lines += [_import_line(m, sorted(imports[m])) for m in group] + [""]
    if unsupported is not None:
        lines.append(unsupported)
    return lines[:-1] if lines[-1] == "" else lines


def _import_line(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 100:
        return line
    return "\n".join([f"from {module} import (", *(f"    {n}," for n in names), ")"])
