"""PowerShell operators over lab values (about_Comparison_Operators, about_Arithmetic_Operators,
about_Split, about_Join, learn.microsoft.com; LanguagePrimitives.Compare/Equals in the engine source).

Comparison operators compare without case unless ``c``-prefixed; the *left* operand's type decides how the
right one is converted; with an array on the left, ``-eq``/``-like``/``-match``... filter the array.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from toolkit.lab.powershell import regexcat
from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.powershell.convert import convert_to, is_type, to_number, try_convert
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.fmt import FormatError, composite_format
from toolkit.lab.powershell.values import Hashtable, enumerate_value, to_string, truthy, type_name


@lru_cache(maxsize=512)
def dotnet_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A .NET regular expression as a Python one (named groups ``(?<n>...)`` → ``(?P<n>...)``, Unicode
    categories ``\\p{X}`` → explicit classes: :mod:`~toolkit.lab.powershell.regexcat`)."""
    translated = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)
    translated = re.sub(r"\\k<([A-Za-z_]\w*)>", r"(?P=\1)", translated)
    try:
        translated = regexcat.translate(translated)
        return re.compile(translated, re.IGNORECASE if ignore_case else 0)
    except (re.error, regexcat.CategoryError) as exc:
        raise PSError(make_record(f'The regular expression pattern {pattern} is not valid.', "InvalidRegularExpression",
                                  "InvalidOperation", "System.ArgumentException")) from exc


def dotnet_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """A .NET replacement string (``$1``, ``${name}``, ``$0``, ``$$``) as a function of the match."""
    parts = re.split(r"(\$\$|\$\d+|\$\{\w+\}|\$&)", replacement)

    def expand(match: re.Match[str]) -> str:
        out = []
        for part in parts:
            if part == "$$":
                out.append("$")
            elif part == "$&":
                out.append(match.group(0))
            elif part.startswith("${") and part.endswith("}"):
                name = part[2:-1]
                out.append(match.group(int(name) if name.isdigit() else name) or "")
            elif len(part) > 1 and part[0] == "$" and part[1:].isdigit():
                index = int(part[1:])
                out.append((match.group(index) or "") if index <= (match.re.groups or 0) else part)
            else:
                out.append(part)
        return "".join(out)

    return expand


def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return _wildcard_cached(pattern, ignore_case)


@lru_cache(maxsize=512)
def _wildcard_cached(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """about_Wildcards: ``*``, ``?``, ``[abc]``, ``[a-z]``, and ````` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def like(value: Any, pattern: Any, ignore_case: bool = True) -> bool:
    return _wildcard(to_string(pattern), ignore_case).match(to_string(value)) is not None


def equals(left: Any, right: Any, ignore_case: bool = True) -> bool:
    """LanguagePrimitives.Equals: the right operand is converted to the left one's type."""
    if left is None:
        return right is None
    if right is None:
        return False
    if isinstance(left, str):
        right_text = to_string(right)
        return left.lower() == right_text.lower() if ignore_case else left == right_text
    if isinstance(left, bool):
        return left == truthy(right)
    if isinstance(left, (int, float)):
        if isinstance(right, (int, float)):
            return left == right
        try:
            return left == to_number(right)
        except PSError:
            return False
    if isinstance(left, DotNetEnum):
        if isinstance(right, str):
            return left.name.lower() == right.lower()
        if isinstance(right, DotNetEnum):
            return left == right
        return isinstance(right, int) and left.value == right
    if isinstance(left, datetime) and isinstance(right, str):
        converted = try_convert(right, "datetime")
        return bool(converted == left)
    if isinstance(left, DotNetObject) and "Equals" in left.methods:
        # LanguagePrimitives.Equals first asks the object itself (Object.Equals); the lab has no general
        # conversion of the right operand to a machine type, so only a machine-provided Equals is asked.
        return bool(left.call("Equals", right))
    if isinstance(left, (Hashtable, list)) or not _is_value(left):
        return left is right
    return bool(left == right)


def _is_value(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, datetime, timedelta, bytes, DotNetEnum))


def compare(left: Any, right: Any, ignore_case: bool = True) -> int:
    """LanguagePrimitives.Compare: -1, 0 or 1 (``$null`` is less than anything else)."""
    if left is None:
        return 0 if right is None else -1
    if right is None:
        return 1
    if isinstance(left, str):
        a, b = left, to_string(right)
        if ignore_case:
            a, b = a.lower(), b.lower()
        return (a > b) - (a < b)
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        try:
            number = to_number(right) if not isinstance(right, (int, float)) else right
        except PSError:
            raise _compare_error(left, right) from None
        return bool(left > number) - bool(left < number)
    if isinstance(left, datetime):
        other: datetime = convert_to(right, "datetime")
        return (left > other) - (left < other)
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return (left > right) - (left < right)
    if isinstance(left, bool):
        x, y = int(left), int(truthy(right))
        return (x > y) - (x < y)
    raise _compare_error(left, right)


def _compare_error(left: Any, right: Any) -> PSError:
    return PSError(make_record(
        f'Cannot compare "{to_string(left)}" because it is not IComparable.', "NotIcomparable", "InvalidOperation"))


def _match(value: Any, pattern: Any, ignore_case: bool) -> re.Match[str] | None:
    return dotnet_regex(to_string(pattern), ignore_case).search(to_string(value))


def matches_table(match: re.Match[str]) -> Hashtable:
    """``$Matches`` after a successful ``-match``: group numbers and names → captured text."""
    table = Hashtable()
    for index in range(match.re.groups, -1, -1):
        if match.group(index) is not None:
            table[str(index)] = match.group(index)
    for name in match.re.groupindex:
        if match.group(name) is not None:
            table[name] = match.group(name)
    return table


_SCALAR_OPS: dict[str, Callable[[Any, Any, bool], bool]] = {
    "eq": equals,
    "ne": lambda a, b, i: not equals(a, b, i),
    "gt": lambda a, b, i: compare(a, b, i) > 0,
    "ge": lambda a, b, i: compare(a, b, i) >= 0,
    "lt": lambda a, b, i: compare(a, b, i) < 0,
    "le": lambda a, b, i: compare(a, b, i) <= 0,
    "like": like,
    "notlike": lambda a, b, i: not like(a, b, i),
    "match": lambda a, b, i: _match(a, b, i) is not None,
    "notmatch": lambda a, b, i: _match(a, b, i) is None,
}


def comparison(op: str, left: Any, right: Any, set_matches: Callable[[Hashtable], None]) -> Any:
    """Evaluate comparison operator ``op`` (``-eq``, ``-ceq``, ``-ilike``...)."""
    name = op.lower().lstrip("-")
    ignore_case = True
    if name[0] in "ci" and name[1:] in _ALL_COMPARISONS:
        ignore_case = name[0] == "i"
        name = name[1:]
    if name in ("contains", "notcontains", "in", "notin"):
        collection, item = (left, right) if name in ("contains", "notcontains") else (right, left)
        found = any(equals(element, item, ignore_case) for element in enumerate_value(collection)) \
            if collection is not None else item is None
        return found if name in ("contains", "in") else not found
    if name in ("is", "isnot"):
        result = is_type(left, right if isinstance(right, str) else to_string(right))
        return result if name == "is" else not result
    if name == "as":
        return try_convert(left, right if isinstance(right, str) else to_string(right))
    if name == "replace":
        return replace(left, right, ignore_case)
    if name == "split":
        return split(left, right, ignore_case)
    if name == "join":
        return join(left, right)
    scalar = _SCALAR_OPS.get(name)
    if scalar is None:
        raise ValueError(f"unknown comparison operator {op}")
    if isinstance(left, (list, tuple)):
        # An array on the left filters: the elements for which the comparison holds.
        return [element for element in left if scalar(element, right, ignore_case)]
    if name == "match":
        matched = _match(left, right, ignore_case)
        if matched is not None:
            set_matches(matches_table(matched))
        return matched is not None
    return scalar(left, right, ignore_case)


_ALL_COMPARISONS = frozenset([
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains", "notcontains", "in",
    "notin", "replace", "split",
])


def replace(left: Any, right: Any, ignore_case: bool = True) -> Any:
    pieces = list(right) if isinstance(right, (list, tuple)) else [right]
    pattern = to_string(pieces[0]) if pieces else ""
    replacement = to_string(pieces[1]) if len(pieces) > 1 else ""
    regex = dotnet_regex(pattern, ignore_case)
    expand = dotnet_replacement(replacement)
    if isinstance(left, (list, tuple)):
        return [regex.sub(expand, to_string(v)) for v in left]
    return regex.sub(expand, to_string(left))


def split(left: Any, right: Any, ignore_case: bool = True) -> list[str]:
    pieces = list(right) if isinstance(right, (list, tuple)) else [right]
    regex = dotnet_regex(to_string(pieces[0]), ignore_case)
    limit = int(to_number(pieces[1])) if len(pieces) > 1 else 0
    out: list[str] = []
    for value in enumerate_value(left) if isinstance(left, (list, tuple)) else [left]:
        out.extend(regex.split(to_string(value), maxsplit=max(0, limit - 1)) if regex.groups == 0 else
                   regex.split(to_string(value)))
    return out


def unary_split(value: Any) -> list[str]:
    """``-split $x``: split on whitespace, dropping empty strings."""
    out: list[str] = []
    for item in enumerate_value(value) if isinstance(value, (list, tuple)) else [value]:
        out.extend(to_string(item).split())
    return out


def join(left: Any, right: Any) -> str:
    return to_string(right).join(to_string(v) for v in enumerate_value(left)) if left is not None else ""


def format_operator(template: Any, args: Any) -> str:
    """``'...' -f $args`` (String.Format with the invariant culture)."""
    values = list(args) if isinstance(args, (list, tuple)) else [args]
    try:
        return composite_format(to_string(template), values)
    except FormatError as exc:
        raise PSError(make_record(
            f'Error formatting a string: {exc}', "FormatError", "InvalidOperation", "System.FormatException")) \
            from None


def add(left: Any, right: Any) -> Any:
    """``+``: numbers add, strings concatenate, arrays append, hashtables merge (about_Arithmetic_Operators)."""
    if left is None:
        return list(right) if isinstance(right, (list, tuple)) else right
    if isinstance(left, str):
        return left + to_string(right)
    if isinstance(left, (list, tuple)):
        return [*left, *right] if isinstance(right, (list, tuple)) else [*left, right]
    if isinstance(left, Hashtable):
        if not isinstance(right, Hashtable):
            raise _op_error("+", left, right)
        merged = Hashtable(left.items(), ordered=left.ordered)
        for key, value in right.items():
            if key in merged:
                raise PSError(make_record(
                    f"Item has already been added. Key in dictionary: '{key}'  Key being added: '{key}'",
                    "System.ArgumentException", "NotSpecified", "System.ArgumentException"))
            merged[key] = value
        return merged
    if isinstance(left, datetime) and isinstance(right, timedelta):
        return left + right
    if isinstance(left, (int, float)):
        return left + to_number(right)
    raise _op_error("+", left, right)


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``-``, ``*``, ``/``, ``%``."""
    if op == "-":
        if isinstance(left, datetime):
            return left - (right if isinstance(right, (datetime, timedelta)) else convert_to(right, "timespan"))
        return to_number(left) - to_number(right)
    if op == "*":
        if isinstance(left, str):
            return left * int(to_number(right))
        if isinstance(left, (list, tuple)):
            return list(left) * int(to_number(right))
        return to_number(left) * to_number(right)
    a, b = to_number(left), to_number(right)
    if b == 0:
        raise PSError(make_record("Attempted to divide by zero.", "RuntimeException", "NotSpecified",
                                  "System.DivideByZeroException"))
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return a / b
    if op == "%":
        return a % b if isinstance(a, int) and isinstance(b, int) and a >= 0 else a - b * int(a / b)
    raise _op_error(op, left, right)


def _op_error(op: str, left: Any, right: Any) -> PSError:
    return PSError(make_record(
        f"Method invocation failed because [{type_name(left)}] does not contain a method named 'op_Addition'."
        if op == "+" else f"The operation '[{type_name(left)}] {op} [{type_name(right)}]' is not defined.",
        "MethodNotFound", "InvalidOperation"))
