"""Control flow as the rules read it: the statement that holds a node, the operands of ``-and``/``-or``, what an
``if`` condition proves about a variable being $null, and whether an ``if`` block leaves (return, throw, exit,
break, continue, or a call of a script function that always throws)."""

from __future__ import annotations

import pstree

from .tree import Node, Script, command_name, unwrap, var_name


def statement_of(node: Node) -> Node:
    """The statement of a block (script, function, script block, if/loop body) that holds ``node``."""
    blocks = ("program", "script_block_body", "statement_block")
    while node.parent is not None and not (node.parent.type == "statement_list" and node.parent.parent.type in blocks):
        node = node.parent
    return node


def split_logical(script: Script, node: Node, operator: str) -> list[Node]:
    """The operands of ``a OP b OP c`` (looking through parentheses); any other node is one operand."""
    node = unwrap(node)
    if node.type != "logical_expression":
        return [node]
    operands, ops = node.children[0::2], {script.flat(c) for c in node.children[1::2]}
    if ops != {operator}:
        return [node]
    return [part for operand in operands for part in split_logical(script, operand, operator)]


def tests_variable(script: Script, node: Node, name: str, *, for_null: bool) -> bool:
    """``$x`` / ``$null -ne $x`` (for_null False) or ``-not $x`` / ``!$x`` / ``$null -eq $x`` (for_null True)."""
    node = unwrap(node)
    if node.type == "variable":
        return not for_null and var_name(script.text(node)) == name
    if node.type == "expression_with_unary_operator" and script.flat(node.children[0]) in ("-not", "!"):
        return for_null and tests_variable(script, node.children[-1], name, for_null=False)
    if node.type == "comparison_expression" and len(node.children) == 3:
        sides = {var_name(script.text(node.children[0])), var_name(script.text(node.children[2]))}
        operator = script.flat(node.children[1])
        return sides == {"$null", name} and operator == ("-eq" if for_null else "-ne")
    return False


def proves(script: Script, condition: Node, name: str, *, null: bool) -> bool:
    """True if the condition being true proves ``name`` null (null=True) or not null (null=False)."""
    parts = split_logical(script, condition, "-or" if null else "-and")
    return any(tests_variable(script, part, name, for_null=null) for part in parts)


def condition_of(node: Node) -> Node | None:
    """The condition of an if_statement or elseif_clause."""
    kids = node.children
    opening = next((i for i, c in enumerate(kids) if c.type == "("), None)
    return kids[opening + 1] if opening is not None else None


def block_statements(statement: Node) -> list[Node]:
    """The statements (unwrapped) directly in the first block of an if_statement."""
    block = next(c for c in statement.children if c.type == "statement_block")
    body = next((c for c in block.children if c.type == "statement_list"), None)
    return [unwrap(inner) for inner in body.named_children] if body else []


def block_exits(script: Script, statement: Node, throwing: set[str]) -> bool:
    """Whether the first block of an if_statement leaves: return, throw, exit, break, continue, or a call of a
    script function whose last statement throws."""
    return any(
        core.type == "flow_control_statement" or (core.type == "command" and command_name(script, core) in throwing)
        for core in block_statements(statement)
    )


def throwing_functions(script: Script) -> set[str]:
    """Script functions whose last statement throws: calling one ends the block."""
    names = set()
    for name, function in script.functions.items():
        lists = [
            n for n in pstree.walk(function) if n.type == "statement_list" and n.parent.type == "script_block_body"
        ]
        last = lists[0].named_children[-1] if lists and lists[0].named_children else None
        text = script.flat(last) if last is not None else ""
        if text.startswith("throw") or ".throwterminatingerror(" in text:
            names.add(name)
    return names
