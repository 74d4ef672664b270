"""Build YAML data and its line map straight from the parser's events, without composing a node tree.

Composing first keeps every node of the document (each with two marks) alive until the data is built: for
a 10,000-host inventory that is a peak of ~75 MB, and the heap stays fragmented after it is freed. This
module reads the same parser's events once, with a stack of the open mappings and sequences, and builds
each scalar with the loader's own resolver and SafeConstructor constructors, so every value means exactly
what the node path (:mod:`toolkit.yamllines`) makes of it.

It handles the common subset exactly. Anything else raises :class:`Unsupported` and the caller parses
again the node way, which says what it always said: every YAML or constructor error, the alias and depth
bounds, duplicate keys (when refused), merge keys ``<<``, explicit collection tags (``!!set``, ``!!omap``),
scalar tags other than the standard ones, complex keys, aliases as keys, a cycle (an alias inside its own
anchor), several documents. Only bad or unusual documents are parsed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import yaml

FieldPath = tuple[str | int, ...]

# The scalar tags the event path builds itself, with SafeConstructor's constructor for each.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "binary", "timestamp", "str")
)
_STR_TAG = "tag:yaml.org,2002:str"
_NO_KEY = object()
# Equal short strings share one object: a big inventory repeats "https", "ntlm", "jc_users" on every host,
# and the hosts keep them for the whole run (about 50,000 copies at 10,000 hosts).
_SHARED_STR_MAX = 64


class Unsupported(Exception):
    """The event path cannot build this document exactly as the node path would: use the node path."""


@dataclass
class _Anchor:
    """An anchored value: the object aliases share, its line, its size written out in full, its height."""

    value: Any
    line: int
    size: int = 1
    height: int = 0
    done: bool = False


@dataclass
class _Open:
    """An open mapping or sequence: its data, its field path, and what the bounds need to know of it."""

    data: dict[Any, Any] | list[Any]
    path: FieldPath
    anchor: str | None
    size: int = 1  # nodes so far, aliases written out in full (keys count one each, as the node path does)
    height: int = 0  # how much deeper than this collection its deepest value is
    key: Any = _NO_KEY  # the mapping's key waiting for its value
    child: FieldPath = field(default=())  # the path of the value after ``key``
    keys: set[str] = field(default_factory=set)  # a mapping's keys as written (the node path's duplicate check)


def _line(event: Any) -> int:
    """The 1-based line an event (so its node) starts on."""
    return int(event.start_mark.line) + 1


class _Builder:
    """One document from ``loader``'s events; lines go into ``lines`` as the node path records them (``None``:
    record none)."""

    def __init__(
        self,
        loader: yaml.SafeLoader | yaml.CSafeLoader,
        lines: dict[FieldPath, int] | None,
        max_alias_nodes: int,
        max_depth: int,
        refuse_duplicates: bool,
    ) -> None:
        self.loader = loader
        self.constructors = type(loader).yaml_constructors
        self.resolve = cast(Callable[[type[yaml.Node], str, Any], str], loader.resolve)
        self.lines = lines
        self.max_alias_nodes = max_alias_nodes
        self.max_depth = max_depth
        self.refuse_duplicates = refuse_duplicates
        self.anchors: dict[str, _Anchor] = {}
        self.strings: dict[str, str] = {}
        self.extra = 0  # nodes aliases add when written out in full (the node path's budget is this)
        self.stack: list[_Open] = []

    def document(self) -> Any:
        """The single document's data (``None`` for an empty stream)."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        root = self.root()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            raise Unsupported("more than one document")
        return root

    def root(self) -> Any:
        """Read node events until the root node is complete; its data."""
        while True:
            event: Any = self.loader.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                done = self.stack.pop()
                self.finish(done)
                value, size, height = done.data, done.size, done.height
            elif self.stack and isinstance(self.stack[-1].data, dict) and self.stack[-1].key is _NO_KEY:
                self.key(self.stack[-1], event)
                continue
            else:
                opened = self.node(event)
                if opened is None:
                    continue
                value, size, height = opened
            if not self.stack:
                return value
            self.attach(self.stack[-1], value, size, height)

    def key(self, mapping: _Open, event: Any) -> None:
        """A mapping's key: a scalar (anything else goes the node way); its path, line and duplicate check."""
        if not isinstance(event, yaml.ScalarEvent):
            raise Unsupported("a key that is not a plain scalar")
        text = self.shared(event.value)  # the key as written, one object per distinct key
        if text in mapping.keys and self.refuse_duplicates:
            raise Unsupported("a key given twice")  # the node path names it
        mapping.keys.add(text)
        child = (*mapping.path, text)
        if self.lines is not None:
            self.lines[child] = _line(event)
        mapping.key = self.scalar(event)
        mapping.child = child
        mapping.size += 1
        if event.anchor is not None:
            self.anchor(event.anchor, _Anchor(mapping.key, _line(event), done=True))

    def node(self, event: Any) -> tuple[Any, int, int] | None:
        """A value node: its ``(data, size, height)``, or ``None`` when it opens a collection."""
        path = self.path(event)
        if len(path) > self.max_depth:
            raise Unsupported("nested too deep")
        line = _line(event)
        if isinstance(event, yaml.AliasEvent):
            anchored = self.anchors.get(event.anchor or "")
            if anchored is None or not anchored.done:
                raise Unsupported("an undefined alias, or one inside its own anchor")
            self.extra += anchored.size
            if self.extra > self.max_alias_nodes or len(path) + anchored.height > self.max_depth:
                raise Unsupported("past the bounds")
            self.record(path, anchored.line)
            return anchored.value, anchored.size, anchored.height
        self.record(path, line)
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event)
            if event.anchor is not None:
                self.anchor(event.anchor, _Anchor(value, line, done=True))
            return value, 1, 0
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if event.tag not in (None, "!"):
                raise Unsupported("an explicit collection tag")
            data: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            if event.anchor is not None:
                self.anchor(event.anchor, _Anchor(data, line))
            self.stack.append(_Open(data, path, event.anchor))
            return None
        raise Unsupported(f"unexpected {type(event).__name__}")

    def path(self, event: Any) -> FieldPath:
        """The field path of the value ``event`` starts."""
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.data, dict):
            return parent.child
        return (*parent.path, len(parent.data))

    def record(self, path: FieldPath, line: int) -> None:
        """The node path's line for a value: a sequence item's own line; a mapping value keeps its key's."""
        if self.lines is None:
            return
        if path and self.stack and isinstance(self.stack[-1].data, list):
            self.lines[path] = line
        else:
            self.lines.setdefault(path, line)

    def anchor(self, name: str, anchored: _Anchor) -> None:
        if name in self.anchors:
            raise Unsupported("an anchor defined twice")
        self.anchors[name] = anchored

    def finish(self, done: _Open) -> None:
        """A collection is complete: its anchor, if any, may now be aliased."""
        if done.anchor is not None:
            anchored = self.anchors[done.anchor]
            anchored.size, anchored.height, anchored.done = done.size, done.height, True

    def attach(self, parent: _Open, value: Any, size: int, height: int) -> None:
        """Put a complete value into its open parent."""
        if isinstance(parent.data, dict):
            parent.data[parent.key] = value
            parent.key = _NO_KEY
        else:
            parent.data.append(value)
        parent.size += size
        parent.height = max(parent.height, height + 1)

    def shared(self, text: str) -> str:
        """``text``, or the equal string seen before (short ones only: long ones rarely repeat)."""
        return self.strings.setdefault(text, text) if len(text) <= _SHARED_STR_MAX else text

    def scalar(self, event: Any) -> Any:
        """A scalar as SafeConstructor builds it: the tag the resolver gives, then that tag's constructor."""
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            return self.shared(event.value)
        if tag not in _SCALAR_TAGS:
            raise Unsupported(f"scalar tag {tag}")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return self.constructors[tag](self.loader, node)


def build_document(
    loader: yaml.SafeLoader | yaml.CSafeLoader,
    lines: dict[FieldPath, int] | None,
    max_alias_nodes: int,
    max_depth: int,
    refuse_duplicates: bool,
) -> Any:
    """The single document ``loader`` parses, built from its events, its lines recorded in ``lines`` (unless
    ``None``: a caller that needs lines only to name an error can parse again when there is one).

    Raises :class:`Unsupported` (and nothing else) when the node path must decide: see the module docstring.
    """
    try:
        return _Builder(loader, lines, max_alias_nodes, max_depth, refuse_duplicates).document()
    except Unsupported:
        raise
    except Exception as exc:
        # Any YAML or constructor error: the node path raises it again, as it always did, with its own text.
        raise Unsupported(str(exc)) from None
