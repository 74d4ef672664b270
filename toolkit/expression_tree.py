"""The syntax tree of the playbook expression language (:mod:`toolkit.expressions` parses into it).

Every node is a small frozen dataclass with ``eval(scope)`` (its value in a scope of plain data) and
``roots()`` (the scope names it reads). Nothing here reaches Python: a path only looks up mapping keys and
list indexes, and a call only reaches the functions in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class ExpressionError(Exception):
    """A syntax error found when parsing, or a type error found when evaluating."""


class _Undefined:
    """The value of a path that does not exist."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


class Node(Protocol):
    """A node of the syntax tree."""

    def eval(self, scope: Mapping[str, Any]) -> Any:
        """The node's value in ``scope`` (plain data: mappings, lists, text, numbers)."""

    def roots(self) -> set[str]:
        """The scope names the node reads."""


def union_roots(nodes: Iterable[Node]) -> set[str]:
    """The scope names any of ``nodes`` reads."""
    names: set[str] = set()
    for node in nodes:
        names |= node.roots()
    return names


def plain(value: Any) -> Any:
    """``value`` with :data:`UNDEFINED` read as ``None``."""
    return None if value is UNDEFINED else value


def truth(value: Any) -> bool:
    """``value`` as a condition: undefined is false."""
    return bool(plain(value))


@dataclass(frozen=True)
class Literal:
    """A constant: text, a number, true, false or null."""

    value: Any

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.value

    def roots(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Path:
    """``name.key.0``: mapping keys and list indexes, never attributes."""

    parts: tuple[str, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        value: Any = scope
        for part in self.parts:
            if isinstance(value, Mapping):
                value = value.get(part, UNDEFINED)
            elif isinstance(value, (list, tuple)) and part.isdigit():
                index = int(part)
                value = value[index] if index < len(value) else UNDEFINED
            else:
                return UNDEFINED
            if value is UNDEFINED:
                return UNDEFINED
        return value

    def roots(self) -> set[str]:
        return {self.parts[0]}

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class List:
    """``[a, b]``: a list of the items' values."""

    items: tuple[Node, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return [item.eval(scope) for item in self.items]

    def roots(self) -> set[str]:
        return union_roots(self.items)


@dataclass(frozen=True)
class Not:
    """``not x``."""

    operand: Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return not truth(self.operand.eval(scope))

    def roots(self) -> set[str]:
        return self.operand.roots()


@dataclass(frozen=True)
class BoolOp:
    """``a and b and ...`` or ``a or b or ...``."""

    op: str
    operands: tuple[Node, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        if self.op == "and":
            return all(truth(o.eval(scope)) for o in self.operands)
        return any(truth(o.eval(scope)) for o in self.operands)

    def roots(self) -> set[str]:
        return union_roots(self.operands)


# The orderings, applied only to two numbers or two texts (checked by compare()).
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(op: str, left: Any, right: Any) -> bool:
    """``left op right`` for ==, !=, in, not in and the orderings; raises :class:`ExpressionError` on a type error."""
    left, right = plain(left), plain(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if not isinstance(right, (list, tuple, str, Mapping)):
            if right is None:
                return op == "not in"
            raise ExpressionError(f"'{op}' needs a list or text on its right, not {type(right).__name__}")
        if isinstance(right, str) and not isinstance(left, str):
            raise ExpressionError(f"'{op}' text needs text on its left, not {type(left).__name__}")
        found = left in right
        return found if op == "in" else not found
    numbers = (int, float)
    if not (
        (isinstance(left, numbers) and isinstance(right, numbers)) or (isinstance(left, str) and isinstance(right, str))
    ) or isinstance(left, bool):
        raise ExpressionError(f"cannot order {type(left).__name__} and {type(right).__name__} with {op}")
    return _ORDERINGS[op](left, right)


@dataclass(frozen=True)
class Compare:
    """``left op right``."""

    op: str
    left: Node
    right: Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return compare(self.op, self.left.eval(scope), self.right.eval(scope))

    def roots(self) -> set[str]:
        return self.left.roots() | self.right.roots()


def _has_finding(scope: Mapping[str, Any], *codes: Any) -> bool:
    wanted = {str(c) for c in codes}
    return any(f.get("code") in wanted for f in scope.get("findings") or [])


def _count(scope: Mapping[str, Any], value: Any) -> int:
    if value is UNDEFINED or value is None:
        return 0
    if not isinstance(value, (list, tuple, str, Mapping)):
        raise ExpressionError(f"count() needs a list, not {type(value).__name__}")
    return len(value)


def _defined(scope: Mapping[str, Any], value: Any) -> bool:
    return value is not UNDEFINED


# The only functions an expression can call; each gets the scope and its evaluated arguments.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "has_finding": _has_finding,  # has_finding('CASE_MISMATCH', ...): any finding so far with one of these codes
    "count": _count,  # count(list): its length (0 when undefined)
    "defined": _defined,  # defined(path): the path exists
}


@dataclass(frozen=True)
class Call:
    """``name(args)``: one of :data:`FUNCTIONS`."""

    name: str
    args: tuple[Node, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return FUNCTIONS[self.name](scope, *(a.eval(scope) for a in self.args))

    def roots(self) -> set[str]:
        return union_roots(self.args)
