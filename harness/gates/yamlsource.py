"""YAML files read with their line numbers, so that an error can point at the line to fix.

The catalog, the waivers file and the risk register are written by people; when one of them is
wrong the message must say where. :func:`read_yaml` parses with PyYAML's safe loader but builds
every mapping as a :class:`LineMap`, a plain ``dict`` that also remembers the line of the mapping
and of each key, and every sequence as a :class:`LineList`, a plain ``list`` that remembers the
line of each element. Scalars (text, numbers, dates) are what ``yaml.safe_load`` gives. The
loader is :class:`harness.yamlfiles.BoundedLoader`: alias bombs, impossible dates, undecodable
bytes and deep nesting are one-line errors like any other.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from harness.yamlfiles import BoundedLoader, load_text, read_text

__all__ = ["LineList", "LineMap", "line_of", "parse_date", "read_yaml"]


class LineMap(dict):
    """A mapping from YAML that knows where it was written (1-based lines)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML that knows the line of each element (1-based)."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []


class _LineLoader(BoundedLoader):
    """The safe loader, building :class:`LineMap` and refusing duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    mapping = LineMap()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    sequence = LineList(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def line_of(value: Any, key: Any = None) -> int:
    """The line of ``value`` (or of the key or index ``key`` inside it), 0 when unknown."""
    if isinstance(value, LineMap):
        return value.line_of(key) if key is not None else value.line
    if isinstance(value, LineList):
        if isinstance(key, int) and 0 <= key < len(value.item_lines):
            return value.item_lines[key]
        return value.line
    return 0


def read_yaml(path: Path, *, fix: str) -> Any:
    """Parses ``path``; a missing file or bad syntax is a ConfigError naming the line."""
    where = str(path)
    return load_text(read_text(path, where, fix), where, _LineLoader)


def parse_date(value: object) -> dt.date | None:
    """A YAML date field as a date: YAML's own date, or ISO text; None when it is neither."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
