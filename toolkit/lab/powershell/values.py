"""PowerShell values as the lab engine holds them, and the conversions every operator relies on.

Representation (chosen for speed; each maps to one .NET type a script can observe):

* ``$null`` is ``None``; ``[bool]`` ``bool``; ``[int]``/``[long]`` ``int``; ``[double]`` ``float``;
  ``[string]`` ``str``; ``[char]`` :class:`Char`; ``[datetime]`` an aware ``datetime``; ``[timespan]`` ``timedelta``.
* ``object[]`` (what ``@()`` and ``,`` build) is a Python ``list``; ``byte[]`` is ``bytes``; a ``tuple`` of
  strings is ``string[]`` (what the machine returns for REG_MULTI_SZ); :class:`DotNetList` is a generic
  ``List[T]`` or an ``ArrayList``.
* ``@{}`` is :class:`Hashtable` (``ordered`` for ``[ordered]@{}``), keys without case like PowerShell's default
  hashtable comparer; ``[pscustomobject]@{}`` is :class:`PSObject`.
* Machine objects are :class:`~toolkit.lab.powershell.contract.DotNetObject` / ``DotNetEnum``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from toolkit.lab.powershell.contract import CaseInsensitiveDict, DotNetEnum, DotNetObject


class Char(str):
    """A ``[char]``: a one-character string that PowerShell types as ``System.Char``."""

    __slots__ = ()


class Hashtable(CaseInsensitiveDict):
    """``@{}`` (``System.Collections.Hashtable``) or ``[ordered]@{}`` (``OrderedDictionary``)."""

    def __init__(self, items: Any = (), *, ordered: bool = False) -> None:
        super().__init__(items)
        self.ordered = ordered

    @property
    def type_name(self) -> str:
        return "System.Collections.Specialized.OrderedDictionary" if self.ordered else "System.Collections.Hashtable"


class PSObject:
    """A ``PSCustomObject``: note properties in order, names without case."""

    __slots__ = ("props", "type_names")

    def __init__(self, props: Iterable[tuple[str, Any]] | CaseInsensitiveDict = (),
                 type_names: tuple[str, ...] = ()) -> None:
        self.props = props if isinstance(props, CaseInsensitiveDict) else CaseInsensitiveDict(props)
        self.type_names = (*type_names, "System.Management.Automation.PSCustomObject", "System.Object")

    def __repr__(self) -> str:
        return f"PSObject({dict(self.props)!r})"


class DotNetList(list[Any]):
    """``System.Collections.Generic.List[T]`` or ``System.Collections.ArrayList`` (a growable list)."""

    def __init__(self, type_name: str, items: Iterable[Any] = (), element: str | None = None) -> None:
        super().__init__(items)
        self.type_name = type_name
        self.element = element


class SecureString:
    """``System.Security.SecureString``: holds text, never shows it (``[string]`` gives the type name)."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def reveal(self) -> str:
        """The clear text, for machine commands that take a password (Set-LocalUser -Password)."""
        return self._text

    def __repr__(self) -> str:
        return "System.Security.SecureString"

    __str__ = __repr__


class PSProperty:
    """One entry of ``$x.PSObject.Properties``: ``Name``, ``Value``, ``MemberType``."""

    __slots__ = ("member_type", "name", "value")

    def __init__(self, name: str, value: Any, member_type: str = "NoteProperty") -> None:
        self.name, self.value, self.member_type = name, value, member_type


def is_enumerable(value: Any) -> bool:
    """Whether the pipeline unrolls ``value`` (arrays and lists; never strings, hashtables or objects).

    Source: LanguagePrimitives.GetEnumerable excludes strings and IDictionary (PowerShell engine source,
    ``src/System.Management.Automation/engine/LanguagePrimitives.cs``).
    """
    return isinstance(value, (list, tuple, bytes, bytearray))


def enumerate_value(value: Any) -> Iterator[Any]:
    """The objects a value contributes to a pipeline (``$null`` contributes nothing as pipeline *input*)."""
    if is_enumerable(value):
        yield from value
    elif value is not None:
        yield value


def unwrap(items: list[Any]) -> Any:
    """A collected pipeline as a value: nothing is ``$null``, one object is itself, more an ``object[]``."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return items


def truthy(value: Any) -> bool:
    """PowerShell's conversion to bool (LanguagePrimitives.IsTrue).

    ``$null``, ``0``, ``''`` and empty arrays are false; a one-element array is the truth of its element; a
    longer array is true; any other object is true (about_Booleans, learn.microsoft.com).
    """
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (list, tuple)):
        if not value:
            return False
        if len(value) == 1:
            return truthy(value[0])
        return True
    if isinstance(value, (bytes, bytearray)):
        return len(value) > 1 or (len(value) == 1 and value[0] != 0)
    return True


def format_double(value: float) -> str:
    """``[string]`` of a double: .NET Framework's ``ToString()`` is ``G15`` (round-trip not guaranteed)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    text = format(value, ".15G")
    if "E" in text:
        mantissa, exponent = text.split("E")
        sign = exponent[0]
        digits = exponent[1:].lstrip("0").rjust(2, "0")
        text = f"{mantissa}E{sign}{digits}"
    return text


def to_string(value: Any) -> str:
    """``[string]$value`` (LanguagePrimitives.ConvertTo with the invariant culture, ``$OFS`` = ' ')."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, datetime):
        # [string] of a DateTime uses the invariant culture: "MM/dd/yyyy HH:mm:ss".
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, timedelta):
        return format_timespan(value)
    if isinstance(value, (list, tuple, bytes, bytearray)):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, Hashtable):
        return value.type_name
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if isinstance(value, PSObject):
        # PSObject.ToString of a PSCustomObject: "@{a=1; b=2}".
        return "@{" + "; ".join(f"{k}={to_string(v)}" for k, v in value.props.items()) + "}"
    if isinstance(value, PSProperty):
        return f"{type_name(value.value)} {value.name}={to_string(value.value)}"
    return str(value)


def format_timespan(value: timedelta) -> str:
    """``TimeSpan.ToString()``: ``[-][d.]hh:mm:ss[.fffffff]``."""
    total = value.days * 86400 + value.seconds
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{str(days) + '.' if days else ''}{hours:02}:{minutes:02}:{seconds:02}"
    if value.microseconds:
        text += f".{value.microseconds * 10:07}"
    return text


def type_name(value: Any) -> str:
    """The full .NET type name of a value (``$x.GetType().FullName``)."""
    return type_names(value)[0]


_SCALAR_TYPES: dict[type, tuple[str, ...]] = {
    bool: ("System.Boolean", "System.ValueType"),
    float: ("System.Double", "System.ValueType"),
    Char: ("System.Char", "System.ValueType"),
    str: ("System.String",),
    datetime: ("System.DateTime", "System.ValueType"),
    timedelta: ("System.TimeSpan", "System.ValueType"),
    bytes: ("System.Byte[]", "System.Array"),
    bytearray: ("System.Byte[]", "System.Array"),
}


def type_names(value: Any) -> tuple[str, ...]:
    """Type names of ``value``, most derived first, interfaces a script tests with ``-is`` included."""
    if value is None:
        return ()
    if isinstance(value, DotNetObject):
        return value.type_names
    if isinstance(value, PSObject):
        return value.type_names
    if isinstance(value, DotNetEnum):
        return (value.type_name, "System.Enum", "System.ValueType", "System.Object")
    if isinstance(value, int) and not isinstance(value, bool):
        if -(2**31) <= value < 2**31:
            return ("System.Int32", "System.ValueType", "System.Object")
        return ("System.Int64", "System.ValueType", "System.Object")
    names = _SCALAR_TYPES.get(type(value))
    if names is not None:
        return (*names, "System.Object")
    if isinstance(value, Hashtable):
        return (value.type_name, "System.Collections.IDictionary", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object")
    if isinstance(value, dict):
        return ("System.Collections.Hashtable", "System.Collections.IDictionary", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object")
    if isinstance(value, DotNetList):
        return (value.type_name, "System.Collections.IList", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object")
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return ("System.String[]", "System.Array", "System.Collections.IList", "System.Collections.IEnumerable",
                "System.Object")
    if isinstance(value, (list, tuple)):
        return ("System.Object[]", "System.Array", "System.Collections.IList", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object")
    if isinstance(value, SecureString):
        return ("System.Security.SecureString", "System.Object")
    extra = getattr(value, "type_names", None)
    if extra:
        return tuple(extra)
    return ("System.Object",)
