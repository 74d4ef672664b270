"""YAML that remembers where each value came from, so an error can name the file, the line and the field.

:func:`load_yaml` returns plain dicts, lists and scalars (safe types only), plus a :class:`Locations` that
maps a field path such as ``("steps", 2, "params", "NewName")`` to its 1-based line. Error messages are
built with :func:`where`, which falls back to the nearest enclosing field that has a line.

Every YAML jcfix reads goes through here, bounded: :func:`read_text_file` refuses a file over its size cap
(:data:`MAX_INVENTORY_BYTES` for inventories, :data:`MAX_YAML_BYTES` for the rest) and a binary one, and
parsing refuses aliases that expand past :data:`MAX_ALIAS_NODES` values (a "billion laughs" bomb) and
nesting past :data:`MAX_DEPTH`, as a :class:`UsageError` naming the file, before any caller walks the data.

Documents are built straight from the parser's events (:mod:`toolkit.yamlevents`: no node tree, a fraction
of the memory); whatever that path does not handle exactly (every error, merge keys, collection tags, complex
keys) is parsed again the node way (:func:`parse_yaml_nodes`), which decides as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import UsageError
from toolkit.textvalues import printable
from toolkit.yamlevents import FieldPath, Unsupported, build_document


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


# Bounds for every YAML document jcfix reads: an alias to a collection shares one node, so a few hundred
# bytes can stand for billions of values ("billion laughs"); every walk over the data would expand them.
MAX_INVENTORY_BYTES = 10 * 1024 * 1024
MAX_YAML_BYTES = 1024 * 1024  # playbooks, config, scenarios
MAX_ALIAS_NODES = 10_000  # values reached through aliases, counted as written out in full
MAX_DEPTH = 100  # nesting of mappings and sequences


class _Bounds:
    """Counts nodes as the walk expands aliases; refuses past :data:`MAX_ALIAS_NODES` or :data:`MAX_DEPTH`."""

    def __init__(self, file: str, unique: int) -> None:
        self.file = file
        self.budget = unique + MAX_ALIAS_NODES
        self.seen = 0

    def visit(self, node: yaml.Node, depth: int) -> None:
        self.seen += 1
        if self.seen > self.budget:
            raise UsageError(
                f"{self.file}:{node.start_mark.line + 1}: refused: aliases expand to more than "
                f"{MAX_ALIAS_NODES:,} values (write the values out, or use fewer aliases)"
            )
        if depth > MAX_DEPTH:
            raise UsageError(f"{self.file}:{node.start_mark.line + 1}: refused: nested more than {MAX_DEPTH} deep")


def _unique_nodes(root: yaml.Node) -> int:
    """How many distinct nodes the document has (an alias reuses its anchor's node); iterative, no recursion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return len(seen)


def _walk(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int], bounds: _Bounds) -> None:
    bounds.visit(node, len(path))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            bounds.visit(key_node, len(path))
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark.line)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, bounds)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, bounds)


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


def _compose_bounded(loader: yaml.SafeLoader | yaml.CSafeLoader, file: str, lines: dict[FieldPath, int]) -> Any:
    """The document's root node, walked once within the bounds (its lines recorded in ``lines``)."""
    try:
        node = loader.get_single_node()
        if node is not None:
            # The bounded walk runs first: the checks after it and every reader of the data walk the same tree.
            _walk(node, (), lines, _Bounds(file, _unique_nodes(node)))
        return node
    except RecursionError:
        # The parser itself recurses on nesting; a document this deep is not one jcfix writes or reads.
        raise UsageError(f"{file}: refused: nested more than {MAX_DEPTH} deep") from None


def _from_events(text: str, lines: dict[FieldPath, int] | None, refuse_duplicates: bool) -> tuple[bool, Any]:
    """``(True, data)`` built from the parser's events (:mod:`toolkit.yamlevents`), or ``(False, None)`` when
    only the node path can say what this document means (``lines`` is then left empty for it)."""
    loader = _safe_loader(text)
    try:
        return True, build_document(loader, lines, MAX_ALIAS_NODES, MAX_DEPTH, refuse_duplicates)
    except Unsupported:
        if lines is not None:
            lines.clear()
        return False, None
    finally:
        loader.dispose()


def safe_load_bounded(text: str, file: str) -> Any:
    """``yaml.safe_load(text)`` within the alias and depth bounds (a :class:`UsageError` naming ``file`` past
    them); bad YAML raises ``yaml.YAMLError`` as ``safe_load`` does."""
    # The event path needs no node tree (a fraction of the memory); the node path decides everything else.
    built, document = _from_events(text, None, refuse_duplicates=False)
    return document if built else safe_load_bounded_nodes(text, file)


def safe_load_bounded_nodes(text: str, file: str) -> Any:
    """:func:`safe_load_bounded` the node way: compose the whole node tree, then construct the data."""
    loader = _safe_loader(text)
    try:
        node = _compose_bounded(loader, file, {})
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, file: str, lines: bool = True) -> tuple[Any, Locations]:
    """Parse ``text`` (named ``file`` in errors); raises :class:`UsageError` with the line on bad YAML.

    ``lines=False``: the :class:`Locations` usually has no lines (a large document's line map is most of the
    memory of parsing it): for a caller that parses again for the lines only when it has an error to name.
    """
    locations = Locations(printable(file))  # a file name is the user's text: it must not forge a terminal line
    built, document = _from_events(text, locations.lines if lines else None, refuse_duplicates=True)
    return (document, locations) if built else parse_yaml_nodes(text, file)


def parse_yaml_nodes(text: str, file: str) -> tuple[Any, Locations]:
    """:func:`parse_yaml` the node way (every error, merge keys, collection tags, complex keys take it)."""
    file = printable(file)  # a file name is the user's text: it must not forge or rewrite a terminal line
    locations = Locations(file)
    try:
        # One parse: compose the nodes (they carry the lines), then build the data from the same nodes.
        loader = _safe_loader(text)
        try:
            node = _compose_bounded(loader, file, locations.lines)
            if node is None:
                return None, locations
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


def read_text_file(path: Path, what: str = "file", max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of the ``what`` at ``path``; refuses (:class:`UsageError` naming the file) a missing or
    unreadable file, one over ``max_bytes``, and a binary one (not UTF-8, or with NUL characters)."""
    name = printable(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise UsageError(f"{name}: refused: {what} larger than {max_bytes // (1024 * 1024)} MB")
    if b"\0" in data:
        raise UsageError(f"{name}: not a text {what} (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{name}: not a text {what} (not UTF-8)") from None


def load_yaml(path: Path, what: str = "file", max_bytes: int = MAX_YAML_BYTES) -> tuple[Any, Locations]:
    """Read and parse the YAML ``what`` at ``path``; errors name the file (and the line when there is one)."""
    return parse_yaml(read_text_file(path, what, max_bytes), str(path))
