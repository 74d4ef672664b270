"""``ConvertTo-Json`` and ``ConvertFrom-Json`` as Windows PowerShell 5.1 behaves.

5.1 facts modelled (ConvertTo-Json / ConvertFrom-Json docs for 5.1, learn.microsoft.com; engine source
``src/Microsoft.PowerShell.Commands.Utility/commands/utility/WebCmdlet/ConvertToJsonCommand.cs`` of the 5.1
era, which serialises through ``JavaScriptSerializer``):

* ``-Depth`` defaults to 2; a container deeper than that is written as its ``[string]`` (no warning in 5.1);
* enums are written as their numbers (``-EnumsAsStrings`` exists only in 6+);
* DateTime is written as ``"\\/Date(milliseconds)\\/"``; ``<``, ``>``, ``&`` and ``'`` are escaped ``\\u003c``...
  (JavaScriptSerializer's HTML-safe escaping);
* pipeline input is collected: one object is written as itself, several as an array; ``-InputObject @(1)`` keeps
  the array;
* ``ConvertFrom-Json`` writes a JSON array as ONE object (PowerShell/PowerShell#3424, fixed in 6.0); objects
  become PSCustomObject; ``"\\/Date(ms)\\/"`` strings become DateTime; keys differing only in case are an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.powershell.convert import to_int
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.values import (
    Char,
    Hashtable,
    PSObject,
    SecureString,
    format_double,
    to_string,
)

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
_NEEDS_ESCAPE = re.compile(r"[\"\\\x00-\x1f<>&']")
_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _quote(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(0), f"\\u{ord(m.group(0)):04x}"), text) + '"'


def _members(value: Any) -> list[tuple[str, Any]] | None:
    if isinstance(value, Hashtable):
        return [(to_string(k), v) for k, v in value.items()]
    if isinstance(value, PSObject):
        return list(value.props.items())
    if isinstance(value, DotNetObject):
        pairs = []
        for key in list(value.properties):
            try:
                pairs.append((key, value.get(key)))
            except (KeyError, PSError):
                continue
        return pairs
    if isinstance(value, dict):
        return [(to_string(k), v) for k, v in value.items()]
    if isinstance(value, timedelta):
        total = value.total_seconds()
        return [("Ticks", int(total * 10**7)), ("Days", value.days), ("Hours", value.seconds // 3600),
                ("Milliseconds", value.microseconds // 1000), ("Minutes", value.seconds // 60 % 60),
                ("Seconds", value.seconds % 60), ("TotalDays", total / 86400), ("TotalHours", total / 3600),
                ("TotalMilliseconds", total * 1000), ("TotalMinutes", total / 60), ("TotalSeconds", total)]
    if isinstance(value, SecureString):
        return [("Length", len(value.reveal()))]
    return None


def to_tree(value: Any, depth: int, max_depth: int) -> Any:
    """A JSON-ready tree: ``("obj", pairs)``, ``("arr", items)`` or an already-encoded scalar string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, DotNetEnum):
        return str(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, (str, Char)):
        return _quote(str(value))
    if isinstance(value, datetime):
        millis = int((value - _EPOCH).total_seconds() * 1000) if value.tzinfo else int(
            (value.replace(tzinfo=timezone.utc) - _EPOCH).total_seconds() * 1000)
        return f'"\\/Date({millis})\\/"'
    if depth > max_depth:
        return _quote(to_string(value))
    if isinstance(value, (list, tuple, bytes, bytearray)):
        return ("arr", [to_tree(v, depth + 1, max_depth) for v in value])
    pairs = _members(value)
    if pairs is None:
        return _quote(to_string(value))
    return ("obj", [(k, to_tree(v, depth + 1, max_depth)) for k, v in pairs])


def encode(tree: Any, compress: bool, indent: int = 0) -> str:
    """Text of a tree: compressed, or indented like 5.1 (four spaces, ``"key":  value``)."""
    if isinstance(tree, str):
        return tree
    kind, items = tree
    if compress:
        if kind == "arr":
            return "[" + ",".join(encode(i, True) for i in items) + "]"
        return "{" + ",".join(f"{_quote(k)}:{encode(v, True)}" for k, v in items) + "}"
    pad = " " * (indent + 4)
    if kind == "arr":
        if not items:
            return "[\n\n" + " " * indent + "]"
        return "[\n" + ",\n".join(pad + encode(i, False, indent + 4) for i in items) + "\n" + " " * indent + "]"
    if not items:
        return "{\n\n" + " " * indent + "}"
    lines = []
    for key, item in items:
        prefix = f"{pad}{_quote(key)}:  "
        lines.append(prefix + encode(item, False, len(prefix)))
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


def convert_to_json(call: Any) -> Iterator[str]:
    depth = to_int(call.bound.get("Depth", 2))
    compress = bool(call.bound.get("Compress"))
    if call.input is not None:
        items = list(call.input)
        if not items:
            return
        value: Any = items[0] if len(items) == 1 else items
    else:
        value = call.bound.get("InputObject")
    yield encode(to_tree(value, 0, depth), compress)


def _hook(pairs: list[tuple[str, Any]]) -> PSObject:
    seen: dict[str, str] = {}
    for key, _ in pairs:
        if key.lower() in seen and seen[key.lower()] != key:
            raise PSError(make_record(
                "Cannot convert the JSON string because a dictionary that was converted from the string contains "
                f"the duplicated keys '{seen[key.lower()]}' and '{key}'.",
                "DuplicateKeysInJsonString,Microsoft.PowerShell.Commands.ConvertFromJsonCommand", "InvalidOperation",
                "System.InvalidOperationException"))
        seen[key.lower()] = key
    return PSObject((k, _date(v)) for k, v in pairs)


def _date(value: Any) -> Any:
    if isinstance(value, str):
        found = _DATE.match(value)
        if found:
            return _EPOCH + timedelta(milliseconds=int(found.group(1)))
    if isinstance(value, list):
        return [_date(v) for v in value]
    return value


def convert_from_json(call: Any) -> Iterator[Any]:
    pieces = list(call.input) if call.input is not None else [call.bound.get("InputObject")]
    text = "\n".join(to_string(p) for p in pieces)
    if not text.strip():
        return
    try:
        parsed = json.loads(text.lstrip("\ufeff"), object_pairs_hook=_hook)
    except json.JSONDecodeError as exc:
        raise PSError(make_record(
            f"Invalid JSON primitive: {text[exc.pos:exc.pos + 20].split()[0] if text[exc.pos:].split() else ''}.",
            "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand", "NotSpecified",
            "System.ArgumentException")) from None
    # A JSON array is written as ONE object in 5.1 (PowerShell/PowerShell#3424).
    yield _date(parsed)
