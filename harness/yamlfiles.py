"""Reading YAML people wrote, safely: one loader for the target spec, the catalog, waivers, risks.

Every YAML file the harness reads goes through :class:`BoundedLoader`, PyYAML's safe loader with
three guards a hostile or mistaken file needs: the document is composed first and its size *as
expanded* (every alias counted as the nodes it stands for) is measured before anything is built,
so an alias bomb ("billion laughs") is refused in linear time instead of hanging whatever walks
it later. Only what aliases add counts: a large file written out in full costs what its bytes
cost and is never mistaken for a bomb. Nesting is bounded; and an impossible date (``2027-02-30``) is a YAML error with a line
instead of a ``ValueError`` from deep inside the constructor. :func:`load_text` turns every
problem, undecodable bytes included, into a one-line :class:`~harness.errors.ConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

__all__ = ["MAX_DEPTH", "MAX_NODES", "BoundedLoader", "load_text", "read_text"]

MAX_NODES = 200_000      # values aliases add to the document once every alias is expanded
MAX_DEPTH = 200          # nesting of mappings and sequences
_CAP = 1 << 62           # an expanded size past any bound: keeps the sums small numbers


class BoundedLoader(yaml.SafeLoader):
    """The safe loader; subclasses add constructors (see :mod:`harness.gates.yamlsource`)."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark) from None


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", BoundedLoader.construct_yaml_timestamp)


def _alias_expansion(node: yaml.Node, where: str) -> int:
    """Nodes the aliases add once expanded (the document's expanded size less its own nodes),
    memoised per node: linear time."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ConfigError(where, f"line {current.start_mark.line + 1}",
                              f"nested deeper than {MAX_DEPTH} levels", "flatten the file")
        known = sizes.get(id(current))
        if known is not None:
            return known
        total = 1
        if isinstance(current, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in current.value)
        total = min(total, _CAP)
        sizes[id(current)] = total
        return total

    return size(node, 0) - len(sizes)


def load_text(text: str, where: str, loader: type[BoundedLoader] = BoundedLoader) -> Any:
    """Parses one YAML document; any problem is a ConfigError naming ``where`` and the line."""
    instance = loader(text)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        if _alias_expansion(node, where) > MAX_NODES:
            raise ConfigError(where, f"line {node.start_mark.line + 1}",
                              f"its aliases expand to more than {MAX_NODES} further values "
                              "(aliases repeated inside aliases: an alias bomb?)", "write the values out without nested aliases")
        return instance.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"line {mark.line + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(where, line, f"not valid YAML ({problem})", "fix the YAML") from None
    except RecursionError:
        raise ConfigError(where, "YAML", "nested too deeply to read", "flatten the file") from None
    finally:
        instance.dispose()


def read_text(path: Path, where: str, fix: str) -> str:
    """The file's text as UTF-8; missing, unreadable or undecodable is one ConfigError line."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(where, "", "file not found", fix) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(where, f"byte {exc.start}", "is not UTF-8 text",
                          "save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(where, "", f"cannot be read ({exc.strerror or exc})", fix) from None
