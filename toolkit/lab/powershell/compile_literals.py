"""The compiler's base: node helpers, literals (numbers, strings, here-strings) and variable references.

Part of the closure compiler (see :mod:`toolkit.lab.powershell.compile_expr`): each node compiles once to a
Python closure ``f(scope) -> value``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tree_sitter

from toolkit.lab.powershell.errors import PSError, UnsupportedConstruct, make_record
from toolkit.lab.powershell.runtime import MISSING, Scope
from toolkit.lab.powershell.strings import here_body, unescape, verbatim
from toolkit.lab.powershell.values import to_string

Expr = Callable[[Scope], Any]
Node = tree_sitter.Node

# Automatic variables the lab does not model: refusing them beats reading them as unset.
UNMODELLED_AUTOMATIC = frozenset({"?", "^", "$", "myinvocation", "psscriptroot", "pscommandpath", "this",
                                  "executioncontext", "stacktrace", "pid", "sender", "eventargs"})
SCOPE_PREFIXES = frozenset({"script", "global", "local", "private", "env", "variable"})


def undefined_variable(name: str) -> PSError:
    """Strict mode: ``The variable '$x' cannot be retrieved because it has not been set.``"""
    return PSError(make_record(f"The variable '${name}' cannot be retrieved because it has not been set.",
                               "VariableIsUndefined", "InvalidOperation", target=name))


class LiteralCompiler:
    """Helpers every compiler layer uses, literals and variables."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.data = source.encode("utf-8")

    # ------------------------------------------------------------------------------------------ helpers
    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8")

    def unsupported(self, node: Node, what: str | None = None) -> UnsupportedConstruct:
        return UnsupportedConstruct(what or node.type, node.start_point[0] + 1)

    def field(self, node: Node, name: str) -> Node:
        """The child of ``node`` in grammar field ``name``; a node without it is not a construct the lab runs."""
        child = node.child_by_field_name(name)
        if child is None:
            raise self.unsupported(node, f"{node.type} without its {name}")
        return child

    @staticmethod
    def named(node: Node) -> list[Node]:
        return [c for c in node.children if c.is_named and c.type != "comment"]

    def statements_value(self, node: Node) -> Expr:  # implemented by the statement compiler
        raise NotImplementedError

    def pipeline_value(self, node: Node) -> Expr:
        raise NotImplementedError

    def statement_list_output(self, node: Node | None) -> Callable[[Scope, list[Any]], None]:
        raise NotImplementedError

    def script_block(self, node: Node) -> Expr:
        raise NotImplementedError

    def expr(self, node: Node) -> Expr:  # the expression layer
        raise NotImplementedError

    # ---------------------------------------------------------------------------------------- literals
    def number(self, node: Node) -> Any:
        text = self.text(node).lower().replace("_", "")
        multiplier = 1
        for suffix, factor in (("kb", 1024), ("mb", 1024**2), ("gb", 1024**3), ("tb", 1024**4), ("pb", 1024**5)):
            if text.endswith(suffix):
                text, multiplier = text[: -len(suffix)], factor
        if text.startswith("0x"):
            return int(text.rstrip("l"), 16) * multiplier
        if text.endswith(("l", "d")) and not text.startswith("0x"):
            text = text[:-1]
        try:
            return int(text) * multiplier
        except ValueError:
            return float(text) * multiplier

    def string(self, node: Node) -> Expr:
        kids = self.named(node)
        inner = kids[0] if kids else node
        if inner.type == "verbatim_string_characters":
            value = verbatim(self.text(inner))
            return lambda s: value
        if inner.type == "verbatim_here_string_characters":
            value = here_body(self.text(inner))
            return lambda s: value
        if inner.type == "expandable_string_literal":
            return self.expandable(inner, False)
        if inner.type == "expandable_here_string_literal":
            return self.expandable(inner, True)
        raise self.unsupported(inner)

    def expandable(self, node: Node, here: bool) -> Expr:
        """``"...$x...$(expr)..."``: literal segments unescaped once, variables and sub-expressions at run time."""
        raw_start, raw_end = node.start_byte, node.end_byte
        text = self.data[raw_start:raw_end].decode("utf-8")
        if here:
            head = text.index("\n") + 1
            tail = text.rindex("\n")
            if tail > head and text[tail - 1] == "\r":
                tail -= 1
            body_start, body_end = raw_start + len(text[:head].encode()), raw_start + len(text[:tail].encode())
        else:
            body_start, body_end = raw_start + 1, raw_end - 1
        parts: list[Any] = []
        cursor = body_start
        for child in self.named(node):
            if child.start_byte < body_start or child.end_byte > body_end:
                continue
            if child.start_byte > cursor:
                parts.append(unescape(self.data[cursor : child.start_byte].decode("utf-8"), here=here))
            if child.type == "variable":
                parts.append(self.variable(child, in_string=True))
            elif child.type == "sub_expression":
                parts.append(self.statements_value(child.child_by_field_name("statements") or child))
            else:
                raise self.unsupported(child)
            cursor = child.end_byte
        if cursor < body_end:
            parts.append(unescape(self.data[cursor:body_end].decode("utf-8"), here=here))
        if all(isinstance(p, str) for p in parts):
            constant = "".join(parts)
            return lambda s: constant

        def expand(s: Scope) -> str:
            return "".join(p if isinstance(p, str) else to_string(p(s)) for p in parts)

        return expand

    # --------------------------------------------------------------------------------------- variables
    @staticmethod
    def split_variable(text: str) -> tuple[str | None, str]:
        name = text[1:]
        if name.startswith("{") and name.endswith("}"):
            name = name[1:-1]
        if ":" in name:
            prefix, rest = name.split(":", 1)
            if prefix.lower() in SCOPE_PREFIXES:
                return prefix.lower(), rest
        return None, name

    def variable(self, node: Node, *, in_string: bool = False) -> Expr:
        text = self.text(node)
        if text.startswith("@"):
            raise self.unsupported(node, "splatting outside a command")
        return self.variable_named(text[1:], node, in_string=in_string)

    def variable_named(self, bare: str, node: Node, *, in_string: bool = False) -> Expr:
        """A variable reference by its text without the sigil (``x``, ``{x}``, ``env:X``, ``script:x``)."""
        prefix, name = self.split_variable("$" + bare)
        key = name.lower()
        if prefix is None or prefix in ("local", "private"):
            if key == "true":
                return lambda s: True
            if key == "false":
                return lambda s: False
            if key == "null":
                return lambda s: None
            if key == "psitem":
                key = "_"
        if prefix == "env":
            return lambda s: s.rt.env(name)
        if key in UNMODELLED_AUTOMATIC and prefix is None:
            raise self.unsupported(node, f"automatic variable ${name}")
        level = 2 if in_string else 1

        def get(s: Scope) -> Any:
            if prefix == "script":
                value = s.script_scope().lookup(key)
            elif prefix == "global":
                value = s.global_scope().lookup(key)
            else:
                value = s.lookup(key)
            if value is MISSING:
                if s.strict_version() >= level:
                    raise undefined_variable(name)
                return None
            return value

        return get
