"""PowerShell parse trees for the tests: the real PowerShell grammar (tree-sitter-powershell), no PowerShell.

What this module offers:

* :func:`parse` and :func:`problems`: parse a script and list its ``ERROR``/``MISSING`` nodes.
* :func:`string_literals` and :func:`decode_verbatim`: find string-literal nodes and decode a verbatim
  (single-quoted) literal back to its value exactly as PowerShell's tokenizer does.
* :func:`parameter_entries`: the ``key = value`` entries of a preview's ``$JcfixParameters`` hashtable.

Where the grammar and PowerShell differ, and how the tests stay honest about it:

* Unicode single quotes: tree-sitter-powershell delimits verbatim strings with the ASCII ``'`` only, while
  PowerShell also opens, closes and escapes with U+2018..U+201B. So the grammar gives a literal's *extent*
  (which must be exactly what ``ps_literal`` produced) and :func:`decode_verbatim`, a transcription of
  PowerShell's own scanner, must agree that the literal closes exactly there and decode it to the value.
  A quoting that doubles only ``'`` fools the grammar but not the decoder (``test_injection`` shows it).
* NUL: PowerShell's tokenizer (``Tokenizer.ScanStringLiteral``, the same in 5.1 and 7) keeps scanning a
verbatim string while ``c != '\\0' || !AtEof()``, so a NUL *inside* a string is an ordinary character. The
tree-sitter grammar instead rejects any NUL byte (a scan of every code point inside ``'a?b'`` finds U+0000
as the only character it cannot hold). :func:`parse` therefore parses a stand-in where each NUL becomes
:data:`NUL_STAND_IN`, a character the verbatim-string scanner treats exactly like NUL (neither is a single
quote, neither ends the input); byte offsets are unchanged, and :func:`node_text` reads node text from
the *original* source, so decoding still sees the real NUL. ``test_injection`` checks that the grammar
still rejects NUL, so the stand-in goes when the grammar learns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

# The characters PowerShell's tokenizer accepts as a single quote (CharExtensions.IsSingleQuote).
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")

# Stands in for NUL when handing text to tree-sitter (one UTF-8 byte, like NUL, so offsets stay put).
NUL_STAND_IN = "_"


@dataclass(frozen=True)
class Parsed:
    """A parse tree and the exact source it was parsed from."""

    source: str
    data: bytes
    tree: tree_sitter.Tree

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    def text(self, node: tree_sitter.Node) -> str:
        return node_text(self, node)


def parse(source: str) -> Parsed:
    """Parse PowerShell ``source`` (NULs stand in as :data:`NUL_STAND_IN`, see the module docstring)."""
    data = source.encode("utf-8")
    tree = PARSER.parse(data.replace(b"\x00", NUL_STAND_IN.encode("ascii")))
    return Parsed(source, data, tree)


def parse_raw(source: str) -> tree_sitter.Tree:
    """Parse ``source`` exactly as given, NULs included (to observe the grammar itself)."""
    return PARSER.parse(source.encode("utf-8"))


def node_text(parsed: Parsed, node: tree_sitter.Node) -> str:
    """The node's text from the original source (real NULs, not the stand-in)."""
    return parsed.data[node.start_byte : node.end_byte].decode("utf-8")


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every node under ``node`` (itself included), in document order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def problems(parsed: Parsed) -> list[str]:
    """Every ERROR or MISSING node, as ``line:column kind text`` (empty when the script parses cleanly)."""
    found = []
    for node in walk(parsed.root):
        if node.is_error or node.is_missing:
            kind = "MISSING" if node.is_missing else "ERROR"
            row, col = node.start_point
            found.append(f"{row + 1}:{col + 1} {kind} {node.type} {parsed.text(node)[:80]!r}")
    if parsed.root.has_error and not found:  # has_error with no node found would be a walker bug
        found.append("tree has an error but no ERROR/MISSING node was found")
    return found


def string_literals(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The ``string_literal`` nodes under ``node``, in document order."""
    return [n for n in walk(node) if n.type == "string_literal"]


def decode_verbatim(text: str) -> str:
    """The value of one complete single-quoted literal, scanned the way PowerShell scans it.

    Transcribes ``Tokenizer.ScanStringLiteral``: after the opening quote, a single-quote character
    followed by another one appends the *second* and goes on; a single-quote character followed by
    anything else closes the string. Raises ``ValueError`` if ``text`` is not exactly one such literal
    (no opening quote, unterminated, or closed before its end).
    """
    if not text or text[0] not in SINGLE_QUOTES:
        raise ValueError(f"not a verbatim string literal: {text[:40]!r}")
    value: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c in SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in SINGLE_QUOTES:
                value.append(text[i + 1])
                i += 2
                continue
            if i != len(text) - 1:
                raise ValueError(f"literal closes at offset {i} of {len(text)}: {text[:40]!r}")
            return "".join(value)
        value.append(c)
        i += 1
    raise ValueError(f"unterminated verbatim string literal: {text[:40]!r}")


def literal_value(parsed: Parsed, node: tree_sitter.Node) -> str:
    """Decode a ``string_literal`` node that must be verbatim (single-quoted, not a here-string)."""
    if node.type != "string_literal" or [c.type for c in node.children] != ["verbatim_string_characters"]:
        raise ValueError(f"not a verbatim string literal node: {node.type} {parsed.text(node)[:40]!r}")
    return decode_verbatim(parsed.text(node))


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` line of a hashtable literal."""

    key: str
    value: tree_sitter.Node


def parameter_entries(parsed: Parsed, variable: str = "$JcfixParameters") -> list[Entry]:
    """The entries of the hashtable assigned to ``variable`` at the top level of ``parsed``."""
    for node in walk(parsed.root):
        if node.type != "assignment_expression":
            continue
        left = node.children[0]
        if parsed.text(left).strip().lower() != variable.lower():
            continue
        tables = [n for n in walk(node) if n.type == "hash_literal_expression"]
        if not tables:
            raise ValueError(f"{variable} is not assigned a hashtable")
        body = [c for c in tables[0].children if c.type == "hash_literal_body"]
        entries = []
        for entry in body[0].children if body else []:
            if entry.type != "hash_entry":
                continue
            key_node, value_node = entry.children[0], entry.children[-1]
            entries.append(Entry(parsed.text(key_node).strip(), value_node))
        return entries
    raise ValueError(f"no assignment to {variable}")
