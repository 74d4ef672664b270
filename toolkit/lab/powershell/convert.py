"""Type names and conversions: ``[T]$x`` casts, ``-is``/``-as``, parameter types.

PowerShell's conversions are LanguagePrimitives.ConvertTo (engine source
``src/System.Management.Automation/engine/LanguagePrimitives.cs``); type accelerators (``[int]``, ``[ordered]``,
``[pscustomobject]``...) are listed in about_Type_Accelerators (learn.microsoft.com).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from toolkit.lab.powershell.contract import DotNetEnum
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.values import (
    Char,
    DotNetList,
    Hashtable,
    PSObject,
    to_string,
    truthy,
    type_name,
    type_names,
)

# Accelerators and short names → full type names.
ACCELERATORS: dict[str, str] = {
    "string": "System.String", "int": "System.Int32", "int32": "System.Int32", "long": "System.Int64",
    "int64": "System.Int64", "double": "System.Double", "bool": "System.Boolean", "boolean": "System.Boolean",
    "char": "System.Char", "byte": "System.Byte", "datetime": "System.DateTime", "timespan": "System.TimeSpan",
    "hashtable": "System.Collections.Hashtable", "array": "System.Array", "object": "System.Object",
    "psobject": "System.Management.Automation.PSObject", "regex": "System.Text.RegularExpressions.Regex",
    "pscustomobject": "System.Management.Automation.PSCustomObject", "switch":
    "System.Management.Automation.SwitchParameter", "scriptblock": "System.Management.Automation.ScriptBlock",
    "securestring": "System.Security.SecureString", "void": "System.Void", "guid": "System.Guid",
    "ordered": "System.Collections.Specialized.OrderedDictionary", "uint32": "System.UInt32",
    "uint64": "System.UInt64", "int16": "System.Int16", "uint16": "System.UInt16", "ulong": "System.UInt64",
    "errorrecord": "System.Management.Automation.ErrorRecord", "convert": "System.Convert",
    "environment": "System.Environment", "math": "System.Math",
}


@lru_cache(maxsize=1024)
def full_type_name(name: str) -> str:
    """``[int]`` → ``System.Int32``; ``[Collections.ArrayList]`` → ``System.Collections.ArrayList``; arrays kept."""
    if name.endswith("[]"):
        return full_type_name(name[:-2]) + "[]"
    lowered = name.lower()
    if lowered in ACCELERATORS:
        return ACCELERATORS[lowered]
    if lowered.startswith("system."):
        return name
    if "." in name and lowered.split(".", 1)[0] in ("collections", "io", "text", "management", "security"):
        return "System." + name
    return name


def is_type(value: Any, name: str) -> bool:
    """``$value -is [name]``."""
    wanted = full_type_name(name).lower()
    if value is None:
        return False
    if wanted == "system.object":
        return True
    if wanted == "system.management.automation.psobject":
        return True  # every object a script holds is wrapped in a PSObject
    return any(t.lower() == wanted for t in type_names(value))


def cast_error(value: Any, target: str, why: str, error_id: str = "ConvertToFinalInvalidCastException") -> PSError:
    if value is None:
        message = f'Cannot convert null to type "{target}".'
    else:
        message = f'Cannot convert value "{to_string(value)}" to type "{target}". Error: "{why}"'
    return PSError(make_record(message, error_id, "InvalidArgument",
                               "System.Management.Automation.PSInvalidCastException"))


def to_int(value: Any, target: str = "System.Int32") -> int:
    """``[int]$value``: numbers round half to even (Convert.ToInt32), strings are parsed."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value)
    if value is None:
        return 0
    if isinstance(value, DotNetEnum):
        return value.value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.lower().startswith("0x"):
                return int(text, 16)
            return int(text)
        except ValueError:
            try:
                return round(float(text))
            except ValueError:
                raise cast_error(value, target, "Input string was not in a correct format.",
                                 "InvalidCastFromStringToInteger") from None
    raise cast_error(value, target, f'Cannot convert the "{to_string(value)}" value of type '
                     f'"{type_name(value)}" to type "{target}".')


def to_number(value: Any) -> int | float:
    """A number for arithmetic: strings parse as integer, else as double."""
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise cast_error(value, "System.Int32", "Input string was not in a correct format.",
                                 "InvalidCastFromStringToInteger") from None
    if isinstance(value, DotNetEnum):
        return value.value
    raise cast_error(value, "System.Int32", "Invalid cast.")


_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def to_datetime(value: Any) -> datetime:
    """``[datetime]$value``: a DateTime stays; text parses with the invariant culture (ISO 8601 included)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip().replace("Z", "+0000") if value.strip().endswith("Z") else value.strip()
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
            except ValueError:
                continue
            # Text without an offset is a Kind=Unspecified DateTime; the lab treats it as the machine's UTC.
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        raise cast_error(value, "System.DateTime", "String was not recognized as a valid DateTime.",
                         "InvalidCastParseTargetInvocation")
    raise cast_error(value, "System.DateTime", "Invalid cast.")


def _to_array(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    return [value]


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return bytes(to_int(v, "System.Byte") for v in _to_array(value))
    except ValueError:
        raise cast_error(value, "System.Byte[]", "Value was either too large or too small for an unsigned byte.") \
            from None


def _to_char(value: Any) -> Char:
    if isinstance(value, int) and not isinstance(value, bool):
        return Char(chr(value))
    text = to_string(value)
    if len(text) != 1:
        raise cast_error(value, "System.Char", "String must be exactly one character long.")
    return Char(text)


def _to_regex(value: Any) -> Any:
    from toolkit.lab.powershell.dotnet import RegexObject

    return value if isinstance(value, RegexObject) else RegexObject(to_string(value))


def _to_timespan(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int):
        return timedelta(microseconds=value / 10)  # [timespan]n: n ticks of 100 ns
    raise cast_error(value, "System.TimeSpan", "Invalid cast.")


# Integer casts: the range and mscorlib's OverflowException text (Overflow_Int32, Overflow_Int64, Overflow_UInt32,
# Overflow_Byte). LanguagePrimitives (5.1) raises PSInvalidCastException 'Cannot convert value "v" to type "T".
# Error: "..."' with id InvalidCastIConvertible for a number, InvalidCastFromStringToInteger for a string.
_INTEGER_RANGES = {
    "System.Int32": (-(2**31), 2**31 - 1, "an Int32"), "System.Int64": (-(2**63), 2**63 - 1, "an Int64"),
    "System.UInt32": (0, 2**32 - 1, "a UInt32"), "System.Byte": (0, 255, "an unsigned byte"),
    "System.UInt64": (0, 2**64 - 1, "a UInt64"), "System.Int16": (-(2**15), 2**15 - 1, "an Int16"),
    "System.UInt16": (0, 2**16 - 1, "a UInt16"),
}


def to_integer(value: Any, target: str) -> int:
    """``[int]``/``[long]``/``[uint32]``/``[byte]`` cast of ``value``: converted, then checked against the range."""
    low, high, what = _INTEGER_RANGES[target]
    try:
        result = to_int(value, target)
    except (ValueError, OverflowError):  # a NaN or infinite double: out of every integer range
        result = high + 1
    if not low <= result <= high:
        error_id = "InvalidCastFromStringToInteger" if isinstance(value, str) else "InvalidCastIConvertible"
        raise cast_error(value, target, f"Value was either too large or too small for {what}.", error_id)
    return result


_CONVERTERS: dict[str, Any] = {
    "system.string": to_string,
    **{name.lower(): (lambda target: lambda v: to_integer(v, target))(name) for name in _INTEGER_RANGES},
    "system.double": lambda v: float(to_number(v)),
    "system.boolean": truthy, "system.management.automation.switchparameter": truthy,
    "system.datetime": to_datetime,
    "system.object": lambda v: v, "system.management.automation.psobject": lambda v: v,
    "system.void": lambda v: None,
    "system.object[]": _to_array, "system.array": _to_array,
    "system.string[]": lambda v: tuple(to_string(item) for item in _to_array(v)),
    "system.char[]": lambda v: [Char(c) for c in to_string(v)],
    "system.char": _to_char,
    "system.byte[]": _to_bytes,
    "system.int32[]": lambda v: [to_integer(item, "System.Int32") for item in _to_array(v)],
    "system.text.regularexpressions.regex": _to_regex,
    "system.timespan": _to_timespan,
}


def convert_to(value: Any, name: str) -> Any:
    """``[name]$value`` for the types the lab models; any other type must already be of that type."""
    full = full_type_name(name)
    lowered = full.lower()
    converter = _CONVERTERS.get(lowered)
    if converter is not None:
        return converter(value)
    if lowered == "system.management.automation.pscustomobject":
        return PSObject(value.items()) if isinstance(value, Hashtable) else value
    if value is None or is_type(value, full):
        return value
    from toolkit.lab.powershell.enums import is_enum_type, to_enum

    if is_enum_type(full):
        return to_enum(full, value)
    raise cast_error(value, full, f'Cannot convert the "{to_string(value)}" value of type "{type_name(value)}" '
                     f'to type "{full}".')


def try_convert(value: Any, name: str) -> Any:
    """``$value -as [name]``: the conversion, or ``$null`` when it fails."""
    try:
        return convert_to(value, name)
    except PSError:
        return None


def new_list(type_text: str) -> DotNetList | None:
    """``System.Collections.Generic.List[T]`` / ``ArrayList`` constructors, or None for another type."""
    match = re.fullmatch(r"(?:system\.)?collections\.generic\.list\[(.+)\]", type_text.strip().lower())
    if match:
        element = full_type_name(match.group(1))
        return DotNetList(f"System.Collections.Generic.List`1[[{element}]]", element=element)
    if type_text.strip().lower() in ("system.collections.arraylist", "collections.arraylist"):
        return DotNetList("System.Collections.ArrayList")
    return None
