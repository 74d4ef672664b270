"""Compiles command elements of a pipeline: names, parameters, arguments, splatting, redirections."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolkit.lab.powershell.binding import Arg
from toolkit.lab.powershell.commands import CompiledCommand
from toolkit.lab.powershell.compile_expr import VOID
from toolkit.lab.powershell.compile_literals import Expr, Node
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

@dataclass
class _Elements:
    """What :meth:`CommandCompiler.command_elements` has read so far of one command's elements."""

    parts: list[tuple[str | None, Expr | None, bool]] = field(default_factory=list)  # (name, value, has value)
    merge: bool = False  # 2>&1: errors join the output
    discard_errors: bool = False
    discard_output: bool = False
    colon: bool = False  # the last parameter ended in ':', so the next element is its value
    previous: Node | None = None  # the last argument read

    def discard(self, text: str) -> None:
        """Apply a redirection to ``$null`` (``2>$null``, ``>$null``, ``*>$null``)."""
        self.discard_errors = self.discard_errors or text[0] in "2*"
        self.discard_output = self.discard_output or text[0] in ">1*"


def _builder(parts: list[tuple[str | None, Expr | None, bool]]) -> Callable[[Scope], list[Arg]]:
    """The run-time step: evaluate each argument in the scope, spreading splatted ones."""

    def build(s: Scope) -> list[Arg]:
        args: list[Arg] = []
        for name, fn, has in parts:
            value = fn(s) if fn is not None else None
            if name is _SPLAT:
                args.extend(_splat(value))
            else:
                args.append(Arg(name, value, has))
        return args

    return build


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
        """A builder of the command's arguments, and its redirections: merge errors, discard errors, output."""
        elements = _Elements()
        for child in node.children if node is not None else []:
            if self._punctuation(child, elements) or self._redirection(child, elements):
                continue
            if self._special_argument(child, elements):
                continue
            value = self.argument(child)
            elements.previous = child
            parts = elements.parts
            if elements.colon and parts and parts[-1][1] is None and parts[-1][0] is not None:
                parts[-1] = (parts[-1][0], value, True)  # -Name:value
            else:
                parts.append((None, value, True))
            elements.colon = False
        return _builder(elements.parts), elements.merge, elements.discard_errors, elements.discard_output

    def _punctuation(self, child: Node, elements: _Elements) -> bool:
        """Separators, comments and ``-Name``/``-Name:`` parameters; True when ``child`` was one."""
        kind = child.type
        if kind == "command_argument_sep":
            elements.colon = ":" in self.text(child)
        elif kind == "command_parameter":
            text = self.text(child)
            elements.parts.append((text[1:].rstrip(":"), None, False))
            elements.colon = text.endswith(":")
        return kind in ("command_argument_sep", "comment", "command_parameter")

    def _redirection(self, child: Node, elements: _Elements) -> bool:
        """``2>&1``, ``*>&1`` and redirections to ``$null``; True when ``child`` was one."""
        if child.type == "redirection":
            text = self.text(child).replace(" ", "")
            if text in ("2>&1", "*>&1"):
                elements.merge = True
            elif _NULL_REDIRECT.match(text):
                elements.discard(text)
            else:
                raise self.unsupported(child, f"redirection {text}")
            return True
        if child.type == "generic_token" and _NULL_REDIRECT.match(self.text(child)):
            elements.discard(self.text(child))
            return True
        return False

    def _special_argument(self, child: Node, elements: _Elements) -> bool:
        """Splatting (``@args``) and ``.Method(...)`` calls on the previous argument; True when ``child`` was one."""
        parts, previous = elements.parts, elements.previous
        if self.strip(child).type == "variable" and self.text(child).startswith("@"):
            # Splatting (about_Splatting): an array gives positional arguments, a hashtable named ones.
            parts.append((_SPLAT, self.variable_named(self.text(child)[1:], child), True))
            elements.colon = False
            return True
        if child.type == "argument_list" and previous is not None and previous.end_byte == child.start_byte and \
                self.strip(previous).type == "member_access" and parts and parts[-1][1] is not None:
            # In argument mode the grammar leaves '.Method(' as a member access followed by its argument list;
            # PowerShell reads it as one method call (no space before the parenthesis).
            member = self.strip(previous)
            call = self.method_call(member.children[0], self.text(member.children[1]), member.children[-1], child)
            parts[-1] = (parts[-1][0], call, True)
            elements.previous = child
            return True
        return False

    def argument(self, node: Node) -> Expr:
        if node.type == "generic_token":
            text = self.text(node)
            if "$" in text or "`" in text:
                raise self.unsupported(node, "bareword with variables or escapes")
            return lambda s: text
        return self.expr(node)
