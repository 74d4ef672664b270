"""The parse tree as the rules read it: :class:`Script` (a parsed script and its node indexes) and helpers that
read nodes: unwrapping, names of variables and commands (aliases resolved), a command's named parameters,
ancestors and scopes, ``[CmdletBinding(SupportsShouldProcess)]``, snippets for messages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pstree

Node = Any  # tree_sitter.Node


# Nodes that only wrap one child (the grammar's precedence ladder): looked through when reading expressions.
WRAPPERS = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
    "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
    "array_literal_expression", "unary_expression", "parenthesized_expression", "argument_expression",
    "logical_argument_expression", "bitwise_argument_expression", "comparison_argument_expression",
    "additive_argument_expression", "multiplicative_argument_expression", "format_argument_expression",
    "range_argument_expression", "statement_list", "left_assignment_expression",
}  # fmt: skip


PARAM_ALIASES = {"-ea": "-erroraction", "-wi": "-whatif"}  # common-parameter aliases (about_CommonParameters)


SCOPE_PREFIX_RE = re.compile(r"^\$\{?(?:script:|local:|global:|private:)?", re.I)


def unwrap(node: Node) -> Node:
    """Look through single-child wrapper nodes (and parentheses) to the expression they hold."""
    while node.type in WRAPPERS:
        named = [c for c in node.named_children if c.type != "comment"]
        if len(named) != 1:
            break
        node = named[0]
    return node


class Script:
    """A parsed script with the indexes the rules share (built in one walk of the tree)."""

    def __init__(self, source: str) -> None:
        """Parse ``source`` and index its nodes by type, its functions by name and its assignments."""
        self.parsed = pstree.parse(source)
        self.nodes: dict[str, list[Node]] = defaultdict(list)
        for node in pstree.walk(self.parsed.root):
            self.nodes[node.type].append(node)
        self.functions = {
            self.text(next(c for c in f.children if c.type == "function_name")).lower(): f
            for f in self.nodes["function_statement"]
        }
        self.assignments = [  # (variable, left, right, assignment)
            (var_name(self.text(a.children[0])), a.children[0], a.children[-1], a)
            for a in self.nodes["assignment_expression"]
        ]

    def text(self, node: Node) -> str:
        """The node's source text."""
        return self.parsed.text(node)

    def flat(self, node: Node) -> str:
        """The node's text on one line, lower case, whitespace collapsed (for comparisons)."""
        return " ".join(self.text(node).split()).lower()

    @cached_property
    def embedded(self) -> list[tuple[Node, str, int]]:
        """The scripts held in verbatim here-strings (see :func:`.embedded.embedded_scripts`)."""
        # Imported here: embedded.py reads the tree through this module, so a top-level import would be circular.
        from .embedded import embedded_scripts

        return list(embedded_scripts(self))

    def commands(self) -> Iterator[tuple[Node, str]]:
        """Every command node with its name (see :func:`command_name`)."""
        for node in self.nodes["command"]:
            yield node, command_name(self, node)


def var_name(text: str) -> str:
    """``$Script:Foo`` / ``${foo}`` -> ``$foo`` (lower case, no scope prefix)."""
    return "$" + SCOPE_PREFIX_RE.sub("", text.strip()).rstrip("}").lower()


def line_of(node: Node) -> int:
    """The node's 1-based first line."""
    return node.start_point[0] + 1


def ancestors(node: Node) -> Iterator[Node]:
    """The node's parent, its parent, and so on up to the root."""
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def scope_of(node: Node) -> Node | None:
    """The function a node is in (None: the script's top level)."""
    return next((a for a in ancestors(node) if a.type == "function_statement"), None)


def inside(node: Node, container: Node) -> bool:
    """Whether ``node`` lies within ``container`` (by byte range)."""
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


# Windows PowerShell 5.1's built-in aliases of the commands the rules look at (Get-Alias there).
ALIASES = {
    "icim": "invoke-cimmethod", "gcim": "get-ciminstance", "gwmi": "get-wmiobject", "iwmi": "invoke-wmimethod",
    "gi": "get-item", "gp": "get-itemproperty", "gpv": "get-itempropertyvalue", "gci": "get-childitem",
    "ls": "get-childitem", "dir": "get-childitem", "gc": "get-content", "cat": "get-content", "type": "get-content",
    "gsv": "get-service", "gps": "get-process", "ps": "get-process", "gcm": "get-command", "ni": "new-item",
    "ndr": "new-psdrive", "mount": "new-psdrive", "sv": "set-variable", "set": "set-variable",
    "nv": "new-variable", "rv": "remove-variable", "nal": "new-alias", "start": "start-process",
    "saps": "start-process", "ncim": "new-ciminstance", "where": "where-object", "?": "where-object",
    "select": "select-object", "foreach": "foreach-object", "%": "foreach-object", "sort": "sort-object",
}  # fmt: skip


def command_name(script: Script, node: Node) -> str:
    """A command node's name, lower case, alias resolved, without module qualifier or path (``& $exe``
    gives ``$exe``, ``& (expr)`` gives ``(expr)``)."""
    for child in node.children:
        if child.type == "command_name":
            name = script.text(child).rsplit("\\", 1)[-1].lower()
            return ALIASES.get(name, name)
        if child.type == "command_name_expr":
            text = script.text(child).strip()
            if text[:1] in "'\"" and text[-1:] == text[:1]:
                return text[1:-1].rsplit("\\", 1)[-1].lower()
            return text.lower()
    return ""


@dataclass(frozen=True)
class Param:
    """A named argument: ``colon`` is the value of ``-Name:value``, ``following`` the next argument's text."""

    colon: str | None
    following: str | None


def params(script: Script, cmd: Node) -> dict[str, Param]:
    """A command's named parameters (lower case, aliases resolved), including keys of a splatted hashtable."""
    found: dict[str, Param] = {}
    elements = next((c for c in cmd.children if c.type == "command_elements"), None)
    kids = (
        [c for c in elements.children if c.type != "command_argument_sep" or ":" in script.text(c)] if elements else []
    )
    for i, kid in enumerate(kids):
        if kid.type == "command_parameter":
            name = script.text(kid).rstrip(":").lower()
            colon = i + 1 < len(kids) and kids[i + 1].type == "command_argument_sep"
            value = kids[i + 2] if colon and i + 2 < len(kids) else (kids[i + 1] if i + 1 < len(kids) else None)
            following = None if value is None or value.type == "command_parameter" else script.flat(value)
            found[PARAM_ALIASES.get(name, name)] = Param(following if colon else None, following)
        elif unwrap(kid).type == "variable" and script.text(kid).startswith("@"):
            for key, value in splat_keys(script, "$" + script.text(kid)[1:]).items():
                found[PARAM_ALIASES.get("-" + key, "-" + key)] = Param(value, value)
    return found


def splat_keys(script: Script, variable: str) -> dict[str, str]:
    """Keys (lower case) and value texts of the hashtable literal(s) assigned to ``variable`` in the script."""
    keys: dict[str, str] = {}
    for name, _, rhs, _ in script.assignments:
        if name == var_name(variable):
            for entry in (n for n in pstree.walk(rhs) if n.type == "hash_entry"):
                keys[script.text(entry.children[0]).strip("'\" ").lower()] = script.flat(entry.named_children[-1])
    return keys


def has_switch(found: dict[str, Param], name: str) -> bool:
    """A switch given and not turned off with ``:$false``."""
    return name in found and found[name].colon not in ("$false", "0")


def cmdletbinding_ssp(script: Script, param_block: Node | None) -> bool:
    """Whether a param() block carries ``[CmdletBinding(SupportsShouldProcess)]`` (or ``=$true``)."""
    if param_block is None:
        return False
    for attribute in (c for lst in param_block.children if lst.type == "attribute_list" for c in lst.children):
        if script.flat(attribute).startswith("[cmdletbinding"):
            for argument in (n for n in pstree.walk(attribute) if n.type == "attribute_argument"):
                parts = script.flat(argument).replace(" ", "").split("=")
                if parts[0] == "supportsshouldprocess" and parts[-1] in ("supportsshouldprocess", "$true"):
                    return True
    return False


def function_params(function: Node) -> Node | None:
    """A function's ``param()`` block, or None."""
    body = next((c for c in function.children if c.type == "script_block"), None)
    return next((c for c in body.children if c.type == "param_block"), None) if body else None


def snippet(script: Script, node: Node) -> str:
    """The node's text on one line, cut to 70 characters (for messages)."""
    text = " ".join(script.text(node).split())
    return text if len(text) <= 70 else text[:67] + "..."
