"""Instance methods of the engine's own values: strings, arrays and lists, hashtables, DateTime, regexes.

Each follows the .NET Framework method it stands for (learn.microsoft.com/dotnet/api/System.String and so on):
``String.Contains``/``Replace``/``StartsWith`` are ordinal and case-sensitive unless a StringComparison says
otherwise; ``String.Split(string)`` does not exist in .NET Framework, so a string argument is a char[] (each
character a separator); ``List[T].Add`` returns nothing, ``ArrayList.Add`` the new index.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.lab.powershell.contract import DotNetObject
from toolkit.lab.powershell.convert import convert_to, to_int
from toolkit.lab.powershell.dotnet import RegexObject, TypeObject, match_object, method_error
from toolkit.lab.powershell.fmt import FormatError, format_value
from toolkit.lab.powershell.members import method_not_found, null_method
from toolkit.lab.powershell.netcall import invoke
from toolkit.lab.powershell.values import Char, DotNetList, Hashtable, to_string, type_name

_MISSING = object()


def _string_method(value: str, name: str, args: list[Any]) -> Any:
    text = [to_string(a) for a in args]
    if name == "trim":
        return value.strip(_chars(args)) if args else value.strip()
    if name == "trimstart":
        return value.lstrip(_chars(args)) if args else value.lstrip()
    if name == "trimend":
        return value.rstrip(_chars(args)) if args else value.rstrip()
    if name in ("tolower", "tolowerinvariant"):
        return value.lower()
    if name in ("toupper", "toupperinvariant"):
        return value.upper()
    if name == "split":
        return _split(value, args)
    if name == "indexofany":
        chars = _chars(args[:1])
        positions = [i for i, c in enumerate(value) if c in chars]
        return positions[0] if positions else -1
    if name == "indexof":
        return value.find(text[0]) if len(args) == 1 else value.find(text[0], to_int(args[1]))
    if name == "lastindexof":
        return value.rfind(text[0])
    if name == "startswith":
        return value.lower().startswith(text[0].lower()) if _ignore_case(args) else value.startswith(text[0])
    if name == "endswith":
        return value.lower().endswith(text[0].lower()) if _ignore_case(args) else value.endswith(text[0])
    if name == "contains":
        return text[0] in value  # ordinal, case-sensitive (String.Contains)
    if name == "replace":
        return value.replace(text[0], text[1])
    if name == "substring":
        start = to_int(args[0])
        length = to_int(args[1]) if len(args) > 1 else len(value) - start
        if start < 0 or length < 0 or start + length > len(value):
            raise method_error("Substring", args, "System.ArgumentOutOfRangeException",
                               "Index and length must refer to a location within the string.\r\nParameter name: length")
        return value[start : start + length]
    if name == "padleft":
        return value.rjust(to_int(args[0]), text[1] if len(args) > 1 else " ")
    if name == "padright":
        return value.ljust(to_int(args[0]), text[1] if len(args) > 1 else " ")
    if name == "equals":
        return value == text[0]
    if name == "tochararray":
        return [Char(c) for c in value]
    if name == "insert":
        position = to_int(args[0])
        return value[:position] + text[1] + value[position:]
    if name == "remove":
        start = to_int(args[0])
        return value[:start] + (value[start + to_int(args[1]):] if len(args) > 1 else "")
    return _MISSING


def _ignore_case(args: list[Any]) -> bool:
    return len(args) > 1 and "ignorecase" in to_string(args[1]).lower()


def _chars(args: list[Any]) -> str:
    out = ""
    for arg in args:
        out += "".join(to_string(c) for c in arg) if isinstance(arg, (list, tuple)) else to_string(arg)
    return out


def _split(value: str, args: list[Any]) -> list[str]:
    """String.Split(char[]) / Split(string[], StringSplitOptions)."""
    if not args:
        # Split() splits at every white-space character and keeps the empty entries.
        return re.split(r"\s", value)
    separators = args[0]
    remove_empty = len(args) > 1 and "removeemptyentries" in to_string(args[-1]).lower()
    # Split(char[]): 5.1 (.NET Framework) has no Split(string) overload, so a string argument converts to
    # char[] and each of its characters is a separator.
    seps = [to_string(s) for s in separators] if isinstance(separators, (list, tuple)) else list(to_string(separators))
    parts = [value]
    for sep in seps:
        if sep:
            parts = [piece for part in parts for piece in part.split(sep)]
    return [p for p in parts if p] if remove_empty else parts


def _list_method(value: list[Any] | tuple[Any, ...], name: str, args: list[Any]) -> Any:
    if name == "contains":
        target = args[0]
        if isinstance(value, DotNetList) and value.element == "System.String":
            return to_string(target) in value if target is not None else None in value
        return any(item == target for item in value)
    if name == "indexof":
        return value.index(args[0]) if args[0] in value else -1
    if name == "toarray":
        return list(value)
    if isinstance(value, DotNetList):
        converted = [convert_to(a, value.element) if value.element else a for a in args]
        if name == "add":
            value.append(converted[0])
            return len(value) - 1 if value.type_name == "System.Collections.ArrayList" else _VOID
        if name == "addrange":
            value.extend(args[0] if isinstance(args[0], (list, tuple)) else [args[0]])
            return _VOID
        if name == "remove":
            if converted[0] in value:
                value.remove(converted[0])
                return True if value.type_name != "System.Collections.ArrayList" else _VOID
            return False if value.type_name != "System.Collections.ArrayList" else _VOID
        if name == "insert":
            value.insert(to_int(args[0]), converted[1])
            return _VOID
        if name == "clear":
            value.clear()
            return _VOID
    elif name in ("add", "remove", "insert", "clear"):
        raise method_error(name.capitalize(), args, "System.NotSupportedException", "Collection was of a fixed size.")
    return _MISSING


_VOID = object()


def _hashtable_method(value: Any, name: str, args: list[Any]) -> Any:
    if name in ("containskey", "contains"):
        return to_string(args[0]) in value if args[0] is not None else False
    if name == "containsvalue":
        return args[0] in value.values()
    if name == "add":
        key = args[0] if isinstance(args[0], str) else to_string(args[0])
        if key in value:
            raise method_error("Add", args, "System.ArgumentException",
                               f"Item has already been added. Key in dictionary: '{key}'  Key being added: '{key}'")
        value[key] = args[1]
        return _VOID
    if name == "remove":
        if to_string(args[0]) in value:
            del value[to_string(args[0])]
        return _VOID
    if name == "clear":
        value.clear()
        return _VOID
    if name == "clone":
        return Hashtable(value.items(), ordered=getattr(value, "ordered", False))
    if name == "getenumerator":
        return [DotNetObject(["System.Collections.DictionaryEntry"], {"Key": k, "Value": v, "Name": k})
                for k, v in value.items()]
    return _MISSING


def _datetime_method(value: datetime, name: str, args: list[Any]) -> Any:
    if name == "touniversaltime":
        return value.astimezone(timezone.utc)
    if name == "tolocaltime":
        return value
    if name.startswith("add") and name[3:] in ("days", "hours", "minutes", "seconds", "milliseconds"):
        return value + timedelta(**{name[3:]: float(args[0])})
    if name == "subtract":
        return value - args[0]
    return _MISSING


def call_method(value: Any, name: str, args: list[Any]) -> Any:
    """``$value.name(args)``; the result ``_VOID`` means the method returns nothing (``void``)."""
    if value is None:
        raise null_method(name)
    if isinstance(value, DotNetObject) and name in value.methods:
        # A machine's (or the engine's) .NET object: netcall wraps what it throws. A missing method falls
        # through to the common ones (ToString, GetType...), then MethodNotFound.
        result = invoke(value.methods[name], name, args)
        return _VOID if result is None else result
    try:
        return _engine_method(value, name, args)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # The engine's own methods: a bad argument, approximated as .NET's ArgumentException.
        raise method_error(name, args, "System.ArgumentException", str(exc)) from None


def _engine_method(value: Any, name: str, args: list[Any]) -> Any:
    lowered = name.lower()
    result: Any = _MISSING
    if isinstance(value, str):
        result = _string_method(value, lowered, args)
    elif isinstance(value, dict):
        result = _hashtable_method(value, lowered, args)
    elif isinstance(value, (list, tuple)):
        result = _list_method(value, lowered, args)
    elif isinstance(value, datetime):
        result = _datetime_method(value, lowered, args)
    elif isinstance(value, RegexObject):
        if lowered == "match":
            result = match_object(value.compiled.search(to_string(args[0])))
        elif lowered == "ismatch":
            result = value.compiled.search(to_string(args[0])) is not None
    if result is not _MISSING:
        return result
    return _common_method(value, lowered, name, args)


def _common_method(value: Any, lowered: str, name: str, args: list[Any]) -> Any:
    if lowered == "tostring":
        if args:
            try:
                return format_value(value, to_string(args[0]))
            except FormatError as exc:
                raise method_error("ToString", args, "System.FormatException", str(exc)) from None
        return to_string(value)
    if lowered == "gettype":
        return TypeObject(type_name(value))
    if lowered == "equals":
        return value == args[0]
    if lowered == "gethashcode":
        return hash(to_string(value)) & 0x7FFFFFFF
    raise method_not_found(value, name)


def void_result(result: Any) -> bool:
    return result is _VOID

