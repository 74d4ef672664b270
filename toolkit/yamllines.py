"""YAML that remembers where each value came from, so an error can name the file, the line and the field.

:func:`load_yaml` returns plain dicts, lists and scalars (safe types only), plus a :class:`Locations` that
maps a field path such as ``("steps", 2, "params", "NewName")`` to its 1-based line. Error messages are
built with :func:`where`, which falls back to the nearest enclosing field that has a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import UsageError

FieldPath = tuple[str | int, ...]


@dataclass
class Locations:
    """Lines of the fields of one YAML document, keyed by field path (the document itself is ``()``)."""

    file: str
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest enclosing field that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())

    def where(self, path: Sequence[str | int]) -> str:
        """``file:line`` for ``path`` (just ``file`` when no line is known)."""
        line = self.line(path)
        return f"{self.file}:{line}" if line is not None else self.file


def describe_path(path: Sequence[str | int]) -> str:
    """A field path as an admin reads it: ``steps[2].params.NewName``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


def _safe_loader(text: str) -> yaml.SafeLoader | yaml.CSafeLoader:
    """A safe loader for ``text``: libyaml's when PyYAML was built with it, else the pure-Python one."""
    # libyaml's parser is much faster on a large inventory, and its nodes carry lines too.
    if hasattr(yaml, "CSafeLoader"):
        return yaml.CSafeLoader(text)
    return yaml.SafeLoader(text)


def _walk(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark.line)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)


def _check_duplicate_keys(node: yaml.Node, locations: Locations, path: FieldPath = ()) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise UsageError(
                    f"{locations.file}:{key_node.start_mark.line + 1}: {describe_path((*path, key))}: "
                    "given twice (YAML keeps only the last one)"
                )
            seen.add(key)
            _check_duplicate_keys(value_node, locations, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicate_keys(item, locations, (*path, index))


def parse_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parse ``text`` (named ``file`` in errors); raises :class:`UsageError` with the line on bad YAML."""
    locations = Locations(file)
    try:
        # One parse: compose the nodes (they carry the lines), then build the data from the same nodes.
        loader = _safe_loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, locations
            _walk(node, (), locations.lines)
            _check_duplicate_keys(node, locations)
            document = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UsageError(f"{file}{where}: not valid YAML: {problem}") from None
    return document, locations


def load_yaml(path: Path, what: str = "file") -> tuple[Any, Locations]:
    """Read and parse the YAML ``what`` at ``path``; errors name the file (and the line when there is one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    return parse_yaml(text, str(path))
