"""Scripts held in verbatim here-strings (``@'...'@``), such as a SYSTEM task's script: found so that they are
linted as scripts of their own (with the here-strings they are appended to)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pstree

from .tree import Node, command_name, unwrap

if TYPE_CHECKING:
    from .tree import Script


def embedded_scripts(script: Script) -> Iterator[tuple[Node, str, int]]:
    """Verbatim here-strings (``@'...'@``) that parse as a script with a function, assignment or param():
    ``(node, script text, lines of prefix)``. A here-string appended to others (``(Get-Prelude) + @'...'@``,
    each operand a here-string or a call of a script function that ends with one) is linted with them before
    it, as the script that runs."""
    for node in script.nodes["string_literal"]:
        inner = here_string_body(script, node)
        if inner is None:
            continue
        prefix = appended_to(script, node)
        parsed = pstree.parse(prefix + inner)
        kinds = {n.type for n in pstree.walk(parsed.root)}
        if not pstree.problems(parsed) and kinds & {"function_statement", "assignment_expression", "param_block"}:
            yield node, prefix + inner, prefix.count("\n")


def here_string_body(script: Script, node: Node) -> str | None:
    """The text between the lines of ``@'`` and ``'@``, or None if ``node`` is no verbatim here-string."""
    text = script.text(node)
    if node.type != "string_literal" or not text.startswith("@'") or "\n" not in text:
        return None
    return text[text.index("\n") + 1 : text.rstrip().rfind("\n")]


def appended_to(script: Script, node: Node) -> str:
    """The here-string texts ``node`` is appended to with ``+`` (each ending in a newline), or ""."""
    top = node
    while top.parent is not None and (top.parent.type == "additive_expression" or unwrap(top.parent) == node):
        top = top.parent

    def operands(n: Node) -> list[Node]:
        n = unwrap(n)
        if n.type != "additive_expression" or {script.text(c) for c in n.children[1::2]} != {"+"}:
            return [n]
        return [o for c in n.children[0::2] for o in operands(c)]

    before = operands(top)
    before = before[: before.index(node)] if node in before else []
    parts = []
    for operand in before:
        function = script.functions.get(command_name(script, operand)) if operand.type == "command" else None
        body = [n for n in pstree.walk(function) if n.type == "statement_list"][:1] if function else []
        if body and body[0].named_children:
            operand = unwrap(body[0].named_children[-1])
        text = here_string_body(script, operand)
        if text is None:
            return ""
        parts.append(text + "\n")
    return "".join(parts)
