"""The playbook expression language: ``when`` conditions and ``{{ ... }}`` values, parsed, never ``eval``-ed.

Grammar (whitespace between tokens is free)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") operand)?
    operand  := literal | list | call | path | "(" expr ")"
    literal  := 'text' | "text" | 123 | 1.5 | true | false | null
    list     := "[" (expr ("," expr)*)? "]"
    call     := NAME "(" (expr ("," expr)*)? ")"        # only the functions in FUNCTIONS
    path     := NAME ("." (NAME | DIGITS))*             # keys of mappings, indexes of lists

A path only looks up keys in the plain data the runner puts in scope (mappings, lists, text, numbers):
there is no attribute access, no call of anything outside :data:`FUNCTIONS`, and nothing is imported,
so a playbook cannot reach Python. A path that does not exist is *undefined*: false in a condition,
equal to ``null``, and an error when a step parameter needs its value.

Templated values (:func:`parse_template`): a string that is exactly ``{{ expr }}`` takes the expression's
value with its type (a list stays a list); ``{{ }}`` inside other text is replaced by the value's text.
Either way the result is a *value* that travels as a PSRP parameter, never PowerShell code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from toolkit.expression_tree import (
    FUNCTIONS,
    UNDEFINED,
    BoolOp,
    Call,
    Compare,
    ExpressionError,
    List,
    Literal,
    Node,
    Not,
    Path,
    truth,
)

# The public names; the tree's nodes stay in toolkit.expression_tree.
__all__ = [
    "UNDEFINED",
    "Expression",
    "ExpressionError",
    "Template",
    "parse_expression",
    "parse_template",
    "parse_value",
    "render_value",
    "value_roots",
]


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected {text[position:].strip()[:20]!r} at column {position + 1}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


# How deeply brackets, calls and ``not`` may nest: far beyond any real condition, and far below Python's
# recursion limit (each level is a few parser frames, and evaluating the tree recurses as deep again).
MAX_DEPTH = 64


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.depth = 0

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper; refuses past :data:`MAX_DEPTH`, so a hostile ``((((...`` is an error, not a crash."""
        if self.depth >= MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep (brackets, calls or 'not')")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == value and token[0] in ("op", "name"):
            self.position += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            token = self.peek()
            found = "the end" if token is None else repr(token[1])
            raise ExpressionError(f"expected {value!r}, found {found}")

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise ExpressionError(f"unexpected {token[1]!r}")
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.accept("or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.accept("and"):
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.accept("not"):
            with self.nested():
                return Not(self.parse_not())
        return self.parse_compare()

    def parse_compare(self) -> Node:
        left = self.parse_operand()
        token = self.peek()
        if token is None:
            return left
        if token[1] in ("==", "!=", "<", "<=", ">", ">=", "in") and token[0] in ("op", "name"):
            self.position += 1
            return Compare(token[1], left, self.parse_operand())
        if token[1] == "not" and self.peek(1) == ("name", "in"):
            self.position += 2
            return Compare("not in", left, self.parse_operand())
        return left

    def parse_operand(self) -> Node:
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early")
        kind, value = token
        self.position += 1
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        if kind == "string":
            body = value[1:-1]
            return Literal(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body))
        if value in ("(", "["):
            with self.nested():
                return self.parse_bracket(value)
        if kind == "name":
            return self.parse_name(value)
        raise ExpressionError(f"unexpected {value!r}")

    def parse_bracket(self, value: str) -> Node:
        """What follows an opening ``(`` or ``[``: a grouped expression or a list."""
        if value == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if value == "[":
            items = []
            if not self.accept("]"):
                items.append(self.parse_or())
                while self.accept(","):
                    items.append(self.parse_or())
                self.expect("]")
            return List(tuple(items))
        raise ExpressionError(f"unexpected {value!r}")

    def parse_args(self) -> tuple[Node, ...]:
        """A call's arguments, after its ``(``, up to and with its ``)``."""
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.parse_or())
            while self.accept(","):
                args.append(self.parse_or())
            self.expect(")")
        return tuple(args)

    def parse_name(self, value: str) -> Node:
        """A literal word, a function call or a path, starting with the name ``value``."""
        if value in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[value])
        if value in _KEYWORDS:
            raise ExpressionError(f"unexpected {value!r}")
        if self.accept("("):
            if value not in FUNCTIONS:
                raise ExpressionError(f"unknown function {value!r} (functions: {', '.join(FUNCTIONS)})")
            with self.nested():
                return Call(value, self.parse_args())
        parts = [value]
        while self.accept("."):
            part = self.peek()
            if part is None or part[0] not in ("name", "number") or "." in part[1]:
                raise ExpressionError(f"expected a name after '.' in {'.'.join(parts)}")
            self.position += 1
            parts.append(part[1])
        return Path(tuple(parts))


@dataclass(frozen=True)
class Expression:
    """A parsed expression: evaluate it with :meth:`evaluate`; :attr:`roots` are the names it reads."""

    source: str
    node: Node

    @property
    def roots(self) -> set[str]:
        return self.node.roots()

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The expression's value in ``scope`` (undefined paths give :data:`UNDEFINED`)."""
        return self.node.eval(scope)

    def test(self, scope: Mapping[str, Any]) -> bool:
        """The expression as a condition."""
        return truth(self.evaluate(scope))


def parse_expression(text: str) -> Expression:
    """Parse ``text``; raises :class:`ExpressionError` saying what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError(f"must be text, not {type(text).__name__}")
    return Expression(text, _Parser(text).parse())


# ---- templated values ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A playbook value with ``{{ expr }}`` placeholders, parsed once; :meth:`render` gives the value."""

    parts: tuple[str | Expression, ...]
    whole: bool  # the value is exactly one placeholder: keep the expression's type

    @property
    def roots(self) -> set[str]:
        names: set[str] = set()
        for part in self.parts:
            if isinstance(part, Expression):
                names |= part.roots
        return names

    def render(self, scope: Mapping[str, Any]) -> Any:
        values = []
        for part in self.parts:
            if isinstance(part, str):
                values.append(part)
                continue
            value = part.evaluate(scope)
            if value is UNDEFINED:
                raise ExpressionError(f"'{{{{ {part.source.strip()} }}}}' is undefined")
            if self.whole:
                return value
            if isinstance(value, (Mapping, list, tuple)):
                raise ExpressionError(f"'{{{{ {part.source.strip()} }}}}' is a {type(value).__name__}, not text")
            values.append("" if value is None else str(value))
        return "".join(values)


def parse_template(value: str) -> Template | str:
    """``value`` parsed into a :class:`Template`, or ``value`` itself when it has no placeholder."""
    if "{{" not in value and "}}" not in value:
        return value
    parts: list[str | Expression] = []
    position = 0
    for match in _PLACEHOLDER.finditer(value):
        if match.start() > position:
            parts.append(value[position : match.start()])
        parts.append(parse_expression(match.group(1)))
        position = match.end()
    rest = value[position:]
    if "{{" in rest or "}}" in rest:
        raise ExpressionError("unbalanced '{{' / '}}'")
    if rest:
        parts.append(rest)
    whole = len(parts) == 1 and isinstance(parts[0], Expression)
    return Template(tuple(parts), whole)


def parse_value(value: Any) -> Any:
    """A playbook value with every string parsed by :func:`parse_template` (mappings and lists walked)."""
    if isinstance(value, str):
        return parse_template(value)
    if isinstance(value, Mapping):
        return {k: parse_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [parse_value(v) for v in value]
    return value


def render_value(value: Any, scope: Mapping[str, Any]) -> Any:
    """A value from :func:`parse_value` with its placeholders filled from ``scope``."""
    if isinstance(value, Template):
        return value.render(scope)
    if isinstance(value, Mapping):
        return {k: render_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    return value


def value_roots(value: Any) -> set[str]:
    """The scope names a parsed value reads."""
    if isinstance(value, Template):
        return value.roots
    items: list[Any] = []
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
    names: set[str] = set()
    for item in items:
        names |= value_roots(item)
    return names
