""".NET formatting as ``-f``, ``ToString(format)`` and ``Get-Date -Format`` use it (invariant culture).

Sources: "Composite formatting", "Standard numeric format strings", "Custom date and time format strings"
(learn.microsoft.com/dotnet/standard/base-types/...). PowerShell formats with the current culture; a remote
session on an en-US host formats numbers and dates like the invariant culture for everything modelled here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

_STANDARD_NUMERIC = re.compile(r"^([DdXxNnFfGgPpEe])(\d{0,2})$")
_DATE_TOKENS = re.compile(
    r"yyyy|yyy|yy|y|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|fffffff|ffffff|fffff|ffff|fff|ff|f"
    r"|tt|t|zzz|zz|z|K|'[^']*'|\"[^\"]*\"|\\.|."
)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class FormatError(ValueError):
    """``Input string was not in a correct format.`` (System.FormatException)."""


def format_number(value: int | float, spec: str) -> str:
    """``value.ToString(spec)`` for the standard numeric formats the scripts use (D, X, N, F, G, P, E)."""
    match = _STANDARD_NUMERIC.match(spec)
    if match is None:
        return _custom_number(value, spec)
    kind, digits_text = match.group(1), match.group(2)
    digits = int(digits_text) if digits_text else None
    upper = kind.upper()
    if upper in ("D", "X"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError("Format specifier was invalid.")
        if upper == "D":
            text = str(abs(value)).rjust(digits or 0, "0")
            return ("-" if value < 0 else "") + text
        number = value if value >= 0 else value + (1 << 32 if value >= -(1 << 31) else 1 << 64)
        text = format(number, "X" if kind == "X" else "x")
        return text.rjust(digits or 0, "0")
    if upper == "N":
        return format(value, f",.{2 if digits is None else digits}f")
    if upper == "F":
        return format(value, f".{2 if digits is None else digits}f")
    if upper == "P":
        return format(value * 100, f",.{2 if digits is None else digits}f") + " %"
    if upper == "E":
        text = format(value, f".{6 if digits is None else digits}e")
        mantissa, exponent = text.split("e")
        return f"{mantissa}{kind}{exponent[0]}{exponent[1:].rjust(3, '0')}"
    from toolkit.lab.powershell.values import format_double

    return format_double(float(value)) if isinstance(value, float) else str(value)


def _custom_number(value: int | float, spec: str) -> str:
    """The custom numeric formats ``0``/``#`` with an optional ``.`` (enough for zero padding)."""
    if not re.fullmatch(r"[0#,]*(\.[0#]*)?", spec):
        raise FormatError(f"custom numeric format {spec!r} is not modelled by the lab engine")
    integer, _, fraction = spec.partition(".")
    decimals = len(fraction)
    text = format(abs(value), f".{decimals}f")
    whole, _, frac = text.partition(".")
    whole = whole.rjust(integer.count("0"), "0")
    if whole == "0" and "0" not in integer:
        whole = ""
    frac = frac.rstrip("0").ljust(fraction.count("0"), "0") if "#" in fraction else frac
    sign = "-" if value < 0 else ""
    return sign + whole + ("." + frac if frac else "")


def format_datetime(value: datetime, spec: str) -> str:
    """``DateTime.ToString(spec)``: the standard ``o``/``s``/``u`` forms and custom patterns."""
    if spec in ("", "G"):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if spec in ("o", "O"):
        base = value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond * 10:07}"
        return base + _offset(value, "K")
    if spec == "s":
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if spec == "u":
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if spec == "d":
        return value.strftime("%m/%d/%Y")
    out: list[str] = []
    for token in _DATE_TOKENS.findall(spec):
        out.append(_date_token(value, token))
    return "".join(out)


def _date_token(value: datetime, token: str) -> str:
    head = token[0]
    if head in "'\"":
        return token[1:-1]
    if head == "\\":
        return token[1:]
    count = len(token)
    if head == "y":
        return str(value.year % 100).rjust(2, "0") if count == 2 else (
            str(value.year % 100) if count == 1 else str(value.year).rjust(count, "0"))
    if head == "M":
        return (str(value.month), f"{value.month:02}", _MONTHS[value.month - 1][:3], _MONTHS[value.month - 1])[
            min(count, 4) - 1]
    if head == "d":
        return (str(value.day), f"{value.day:02}", _DAYS[value.weekday()][:3], _DAYS[value.weekday()])[
            min(count, 4) - 1]
    if head == "H":
        return f"{value.hour:02}" if count == 2 else str(value.hour)
    if head == "h":
        hour = value.hour % 12 or 12
        return f"{hour:02}" if count == 2 else str(hour)
    if head == "m":
        return f"{value.minute:02}" if count == 2 else str(value.minute)
    if head == "s":
        return f"{value.second:02}" if count == 2 else str(value.second)
    if head == "f":
        return f"{value.microsecond * 10:07}"[:count]
    if head == "t":
        marker = "AM" if value.hour < 12 else "PM"
        return marker if count == 2 else marker[0]
    if head in "zK":
        return _offset(value, token)
    return token


def _offset(value: datetime, token: str) -> str:
    offset = value.utcoffset()
    if offset is None:
        return "" if token == "K" else "+00:00"
    if token == "K" and offset == timedelta(0):
        return "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if token == "z":
        return f"{sign}{hours}"
    if token == "zz":
        return f"{sign}{hours:02}"
    return f"{sign}{hours:02}:{mins:02}"


def format_value(value: Any, spec: str) -> str:
    """One composite-format item's text: ``{0:spec}`` of ``value``."""
    from toolkit.lab.powershell.values import to_string

    if spec and isinstance(value, datetime):
        return format_datetime(value, spec)
    if spec and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, spec)
    return to_string(value)


def composite_format(template: str, args: list[Any]) -> str:
    """``String.Format(template, args)``: ``{index[,alignment][:format]}`` with ``{{``/``}}`` escapes."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "{":
            if i + 1 < n and template[i + 1] == "{":
                out.append("{")
                i += 2
                continue
            end = template.find("}", i)
            if end < 0:
                raise FormatError("Input string was not in a correct format.")
            item = template[i + 1 : end]
            head, _, spec = item.partition(":")
            index_text, _, align_text = head.partition(",")
            try:
                index = int(index_text.strip())
                align = int(align_text.strip()) if align_text.strip() else 0
            except ValueError:
                raise FormatError("Input string was not in a correct format.") from None
            if index >= len(args):
                raise FormatError(
                    "Index (zero based) must be greater than or equal to zero and less than the size of the "
                    "argument list."
                )
            text = format_value(args[index], spec)
            out.append(text.rjust(align) if align > 0 else text.ljust(-align))
            i = end + 1
        elif c == "}":
            if i + 1 < n and template[i + 1] == "}":
                out.append("}")
                i += 2
                continue
            raise FormatError("Input string was not in a correct format.")
        else:
            out.append(c)
            i += 1
    return "".join(out)
