"""Compiles command elements of a pipeline: names, parameters, arguments, splatting, redirections."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell.binding import Arg
from toolkit.lab.powershell.commands import CompiledCommand
from toolkit.lab.powershell.compile_expr import VOID, Expr, Node
from toolkit.lab.powershell.compile_members import MemberCompiler
from toolkit.lab.powershell.runtime import Scope

_NULL_REDIRECT = re.compile(r"^[1-6*]?>\s*\$null$", re.IGNORECASE)
_SPLAT: Any = "@splat"


def _splat(value: Any) -> list[Arg]:
    if isinstance(value, dict):
        return [Arg(str(key), item) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [Arg(None, item) for item in value]
    return [] if value is None else [Arg(None, value)]

def emit(out: list[Any], value: Any) -> None:
    """Write an expression's value to the output (arrays enumerate one level; VOID writes nothing)."""
    if value is VOID:
        return
    if isinstance(value, (list, tuple, bytes, bytearray)):
        out.extend(value)
    else:
        out.append(value)


class CommandCompiler(MemberCompiler):
    """``Verb-Noun -Name value positional @splat 2>&1``, ``& $path args``."""

    def command(self, node: Node) -> CompiledCommand:
        invocation = next((c for c in node.children if c.type == "command_invokation_operator"), None)
        name_node = node.child_by_field_name("command_name")
        dot = invocation is not None and self.text(invocation) == "."
        if dot:
            raise self.unsupported(node, "dot-sourcing a command")
        name: str | None = None
        name_fn = None
        if name_node is None:
            raise self.unsupported(node, "command without a name")
        if name_node.type == "command_name" and invocation is None:
            name = self.text(name_node)
        elif name_node.type == "command_name":
            text = self.text(name_node)
            name = text
        else:
            name_fn = self.expr(self.named(name_node)[0])
        elements = node.child_by_field_name("command_elements")
        args_fn, merge, discard_errors, discard_output = self.command_elements(elements)
        line, column = node.start_point[0] + 1, node.start_point[1] + 1
        return CompiledCommand(name, name_fn, args_fn, merge, discard_errors, discard_output, line, column,
                               node.end_byte - node.start_byte)

    def command_elements(self, node: Node | None) -> tuple[Callable[[Scope], list[Arg]], bool, bool, bool]:
        parts: list[tuple[str | None, Expr | None, bool]] = []
        merge = discard_errors = discard_output = False
        colon = False
        previous: Node | None = None
        for child in node.children if node is not None else []:
            kind = child.type
            if kind == "command_argument_sep":
                colon = ":" in self.text(child)
                continue
            if kind == "comment":
                continue
            if kind == "command_parameter":
                text = self.text(child)
                name = text[1:].rstrip(":")
                parts.append((name, None, False))
                colon = text.endswith(":")
                continue
            if kind == "redirection":
                text = self.text(child).replace(" ", "")
                if text in ("2>&1", "*>&1"):
                    merge = True
                elif _NULL_REDIRECT.match(text):
                    discard_errors = discard_errors or text[0] in "2*"
                    discard_output = discard_output or text[0] in ">1*"
                else:
                    raise self.unsupported(child, f"redirection {text}")
                continue
            if kind == "generic_token" and _NULL_REDIRECT.match(self.text(child)):
                text = self.text(child)
                discard_errors = discard_errors or text[0] in "2*"
                discard_output = discard_output or text[0] in ">1*"
                continue
            if self.strip(child).type == "variable" and self.text(child).startswith("@"):
                # Splatting (about_Splatting): an array gives positional arguments, a hashtable named ones.
                parts.append((_SPLAT, self.variable_named(self.text(child)[1:], child), True))
                colon = False
                continue
            if kind == "argument_list" and previous is not None and previous.end_byte == child.start_byte and \
                    self.strip(previous).type == "member_access" and parts and parts[-1][1] is not None:
                # In argument mode the grammar leaves '.Method(' as a member access followed by its argument list;
                # PowerShell reads it as one method call (no space before the parenthesis).
                member = self.strip(previous)
                call = self.method_call(member.children[0], self.text(member.children[1]), member.children[-1], child)
                parts[-1] = (parts[-1][0], call, True)
                previous = child
                continue
            value = self.argument(child)
            previous = child
            if colon and parts and parts[-1][1] is None and parts[-1][0] is not None:
                parts[-1] = (parts[-1][0], value, True)
            else:
                parts.append((None, value, True))
            colon = False

        def build(s: Scope) -> list[Arg]:
            args: list[Arg] = []
            for name, fn, has in parts:
                if name is _SPLAT:
                    args.extend(_splat(fn(s)))  # type: ignore[misc]
                else:
                    args.append(Arg(name, fn(s) if fn is not None else None, has))
            return args

        return build, merge, discard_errors, discard_output

    def argument(self, node: Node) -> Expr:
        if node.type == "generic_token":
            text = self.text(node)
            if "$" in text or "`" in text:
                raise self.unsupported(node, "bareword with variables or escapes")
            return lambda s: text
        return self.expr(node)
