""".NET regular-expression Unicode categories (``\\p{Lu}``, ``\\P{L}``...) for Python's ``re``, which lacks them.

.NET (learn.microsoft.com/dotnet/standard/base-types/character-classes-in-regular-expressions, "Unicode category
or Unicode block: \\p{}") matches a general category, or a one-letter group of them (``L`` is Lu, Ll, Lt, Lm, Lo),
per UTF-16 code unit: a character outside the BMP is two ``Cs`` surrogates to it. The lab translates each
``\\p{X}`` into an explicit class of BMP ranges built from Python's ``unicodedata`` (a newer Unicode version than
.NET Framework 4.8's: letters added since differ, none that a Windows account name or password would hold in
practice, UNCONFIRMED beyond that) and ``\\P{X}`` into its complement, inside or outside a ``[...]`` class.
Named blocks (``\\p{IsGreek}``) are not modelled: they raise an error naming the lab's limit.
Under ``-match`` (IgnoreCase) .NET Framework lowercases each input character before testing a category class,
so ``'A' -match '\\p{Lu}'`` may be False there while Python's case folding makes it True here: UNCONFIRMED, and
the templates use ``-cmatch`` for categories.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

_GROUPS = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"), "M": ("Mn", "Mc", "Me"), "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"), "S": ("Sm", "Sc", "Sk", "So"), "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}
CATEGORIES = frozenset(c for group in _GROUPS.values() for c in group) | frozenset(_GROUPS)


class CategoryError(ValueError):
    """A ``\\p{}`` name .NET does not know, or a named block the lab does not model."""


@cache
def _ranges(name: str, negated: bool) -> str:
    """The class body (no brackets) of the BMP code units in category ``name`` (or not in it)."""
    wanted = set(_GROUPS.get(name, (name,)))
    body: list[str] = []
    start = -1
    for code in range(0x10000 + 1):
        inside = code < 0x10000 and (unicodedata.category(chr(code)) in wanted) != negated
        if inside and start < 0:
            start = code
        elif not inside and start >= 0:
            body.append(_escape(start) if start == code - 1 else f"{_escape(start)}-{_escape(code - 1)}")
            start = -1
    if negated:
        # A character beyond the BMP is two surrogates (Cs) to .NET: outside every category but C and Cs.
        body.append(f"{_escape(0x10000)}-{_escape(sys.maxunicode)}")
    elif name in ("C", "Cs"):
        body.append(f"{_escape(0x10000)}-{_escape(sys.maxunicode)}")
    return "".join(body)


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


def translate(pattern: str) -> str:
    """``pattern`` with every ``\\p{X}``/``\\P{X}`` replaced by an explicit class (module docstring)."""
    if "\\p{" not in pattern and "\\P{" not in pattern:
        return pattern
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            follower = pattern[index + 1]
            if follower in "pP" and pattern.startswith("{", index + 2):
                end = pattern.find("}", index + 3)
                if end < 0:
                    raise CategoryError("Incomplete \\p{X} character escape.")
                name = pattern[index + 3 : end]
                if name.startswith("Is"):
                    raise CategoryError(f"lab PowerShell engine: the Unicode block \\p{{{name}}} is not modelled")
                if name not in CATEGORIES:
                    raise CategoryError(f"Unknown property '{name}'.")
                body = _ranges(name, follower == "P")
                out.append(body if in_class else f"[{body}]")
                index = end + 1
                continue
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            index += 1
            # A ']' first in a class (after an optional '^') is a literal in .NET and Python alike.
            if pattern.startswith("^", index):
                out.append("^")
                index += 1
            if pattern.startswith("]", index):
                out.append("]")
                index += 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)
